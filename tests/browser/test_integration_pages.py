"""The integration page in Chromium: MIS loads a feed's file, reads what it raised, confirms a hold; a
malformed file is refused whole with its lines named; business users never reach the page."""

from __future__ import annotations

import duckdb
import pytest
from playwright.sync_api import expect

from tests.browser.test_pages import assert_offline, choose, login

pytestmark = pytest.mark.browser


def test_mis_loads_a_feed_reviews_an_event_and_a_bad_file_is_refused(
    app_server, page, screenshot, cubes_store
):
    con = duckdb.connect(str(cubes_store.require_current().path), read_only=True)
    heads = [
        r[0]
        for r in con.execute(
            "SELECT cnic FROM members WHERE is_beneficiary_household AND relation = 'head' ORDER BY member_id DESC LIMIT 2"
        ).fetchall()
    ]
    con.close()
    good = (
        "cnic,registration_no,vehicle_class,registered_on\n"
        + "".join(f"{c},BRW-{i},car,2026-03-0{i + 1}\n" for i, c in enumerate(heads))
        + "3520212345671,BRW-9,car,2026-03-09\n"
    )
    bad = "cnic,registration_no,vehicle_class,registered_on\n123,BRW-1,car,2026-03-01\n"

    login(page, app_server, "mis", then="/admin/integration")
    page.wait_for_selector("#in-counts")
    choose(page, "in-feed", "Excise & Taxation")
    page.set_input_files(
        "#in-upload input[type=file]",
        files=[{"name": "bad.csv", "mimeType": "text/csv", "buffer": bad.encode()}],
    )
    page.click("#in-load")
    expect(page.locator("#in-rejected")).to_contain_text("line 2, cnic: does not match")
    expect(page.locator("#in-rejected")).to_contain_text("nothing was loaded")
    page.set_input_files(
        "#in-upload input[type=file]",
        files=[{"name": "excise.csv", "mimeType": "text/csv", "buffer": good.encode()}],
    )
    expect(page.locator("#in-upload-name")).to_contain_text("excise.csv")
    page.click("#in-load")
    expect(page.locator("#in-loaded")).to_contain_text("3 record(s) — 2 matched, 1 unmatched")
    expect(page.locator("#in-batches-table")).to_contain_text("excise.csv")
    row = page.locator("#in-events .ag-row", has_text="BRW-0").first
    expect(row).to_be_visible()
    row.click()
    expect(page.locator("#in-event")).to_contain_text("registration no BRW-0")
    expect(page.locator("#in-event")).to_contain_text("The registry (evidence)")
    page.click("#in-dismiss")
    expect(page.locator("#in-action-out")).to_contain_text("dismiss needs a comment")
    page.fill("#in-comment", "registration verified with Excise Punjab")
    page.click("#in-confirm")
    expect(page.locator("#in-action-out")).to_contain_text("is confirmed")
    expect(page.locator("#in-counts")).to_contain_text("confirmed: 1")
    page.click("#in-outlier-go")
    expect(page.locator("#in-outliers-table tbody tr").first).to_contain_text("indicators imply")
    screenshot(page, "integration-review")
    assert_offline(page)
    page.click("text=Log out")
    page.wait_for_selector("text=Log in")

    login(page, app_server, "planner", then="/admin/integration")
    expect(page.locator("body")).to_contain_text("Your account does not give access to this page")
