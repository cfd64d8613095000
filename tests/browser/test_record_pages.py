"""Record search in Chromium: a Standard user finds a household by CNIC and sees only the searched CNIC,
a user without a role is told so, a Basic user is held to their province and the 1% sample; every search
is in the access log with the rows shown."""

from __future__ import annotations

import re

import duckdb
import pytest
from playwright.sync_api import expect
from sqlalchemy import create_engine, text

from tests.browser.test_pages import assert_offline, choose, login

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def household(cubes_store):
    with duckdb.connect(str(cubes_store.require_current().path), read_only=True) as con:
        hid, cnic, size = con.execute(
            "SELECT m.household_id, m.cnic, h.household_size FROM members m JOIN households h USING (household_id) "
            "WHERE m.line_no = 2 AND m.cnic IS NOT NULL AND h.household_size >= 4 AND h.province_code = 'PK6' "
            "ORDER BY m.household_id LIMIT 1"
        ).fetchone()
    return {"id": hid, "cnic": cnic, "size": size}


def record_searches(cubes_store) -> list[tuple]:
    engine = create_engine(f"sqlite:///{cubes_store.root / 'nser.sqlite'}")
    with engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT username, action, outcome, rows, parameters FROM audit_log WHERE kind = 'record_search' ORDER BY seq"
            )
        ).fetchall()
    engine.dispose()
    return rows


def test_standard_role_finds_a_household_by_cnic_and_sees_only_that_cnic(
    app_server, page, screenshot, household, cubes_store
):
    login(page, app_server, "researcher", then="/records")
    dashed = f"{household['cnic'][:5]}-{household['cnic'][5:12]}-{household['cnic'][12]}"
    page.fill("#rc-cnic", dashed)
    page.click("#rc-go-cnic")
    expect(page.locator("#rc-summary")).to_contain_text(f"{1 + household['size']} record(s) shown and logged")
    page.locator("#rc-grid .ag-row").first.click()
    members = page.locator("#rc-members-table tbody tr")
    expect(members).to_have_count(household["size"])
    table = page.inner_text("#rc-members-table")
    assert household["cnic"] in table
    assert re.findall(r"\b\d{13}\b", table) == [household["cnic"]]  # the searched CNIC, no other
    assert "Proxy-means-test welfare score" in page.inner_text("#rc-detail")
    screenshot(page, "records-standard-cnic")
    with page.expect_download() as csv_file:
        page.click("#rc-export")
    with open(csv_file.value.path(), encoding="utf-8") as fh:
        exported = fh.read()
    assert household["cnic"] in exported and "contact_number" not in exported
    last = record_searches(cubes_store)[-2:]  # the search, then the export
    assert [(r[0], r[1], r[2], r[3]) for r in last] == [
        ("researcher", "cnic", "answered", 1 + household["size"]),
        ("researcher", "cnic", "answered", 1 + household["size"]),
    ]
    assert_offline(page)


def test_without_a_record_role_the_search_is_refused(app_server, page, household):
    login(page, app_server, "planner", then="/records")
    page.fill("#rc-cnic", household["cnic"])
    page.click("#rc-go-cnic")
    expect(page.locator("#rc-status")).to_contain_text("no record-access role")
    assert page.locator("#rc-grid .ag-row").count() == 0


def test_basic_role_is_held_to_its_province_and_the_sample(app_server, page, screenshot):
    login(page, app_server, "planner_punjab", then="/records")
    page.click("text=Address + parameters")
    choose(page, "rc-district", "Karachi Central")
    page.click("#rc-go-address")
    expect(page.locator("#rc-status")).to_contain_text("outside your account's geographic scope")
    choose(page, "rc-district", "Lahore")
    page.click("#rc-go-address")
    expect(page.locator("#rc-status")).to_contain_text("1% sample")
    for cell in page.locator("#rc-grid .ag-row [col-id=household]").all():
        assert cell.inner_text().startswith("S-")
    assert "Postal address" not in page.inner_text("#rc-grid")
    screenshot(page, "records-basic-sample")
