"""The app in a real browser (Debian's Chromium) against gunicorn: the tiers' main journeys."""

from __future__ import annotations

import csv
import io
import re
from urllib.parse import quote

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import is_local

pytestmark = pytest.mark.browser
PASSWORD = "nser-demo-2026"


def login(page, base: str, user: str, then: str = "/explore") -> None:
    page.goto(f"{base}/login?next={quote(then, safe='/')}")
    page.fill("#login-username", user)
    page.fill("#login-password", PASSWORD)
    page.click("#login-submit")
    page.wait_for_selector("#user-badge")


def wait_until(condition, timeout: float = 30) -> None:
    """Poll a Python condition (the app's CSP forbids Playwright's string-evaluated wait_for_function)."""
    import time

    end = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > end:
            raise AssertionError("condition not met in time")
        time.sleep(0.2)


def choose(page, dropdown: str, text: str) -> None:
    """Pick an option of a Dash dropdown by typing into its search box."""
    page.click(f"#{dropdown}")
    page.fill(".dash-dropdown-content input.dash-dropdown-search", text)
    page.click(f".dash-dropdown-content [role=option]:has-text('{text}')")


def grid_rows(page) -> list[tuple[str, ...]]:
    """The explorer table as shown: each row's cells in column order (AG Grid splits pinned columns off;
    column ids are "<table shape>-c<position>")."""
    rows: dict[str, dict[str, str]] = {}
    for row in page.locator("#ex-table .ag-row").all():
        index = row.get_attribute("row-index")
        for cell in row.locator(".ag-cell").all():
            rows.setdefault(index, {})[cell.get_attribute("col-id")] = cell.inner_text().strip()
    ordered = []
    for index in sorted(rows, key=int):
        cells = rows[index]
        ordered.append(tuple(cells[k] for k in sorted(cells, key=lambda c: int(c.rsplit("-c", 1)[1]))))
    return ordered


def assert_offline(page) -> None:
    foreign = [u for u in page.requests_seen if not is_local(u)]
    assert not foreign, foreign


def test_home_map_click_opens_district_dashboard(app_server, page, screenshot):
    page.goto(app_server + "/")
    page.wait_for_selector(".headline-value")
    page.wait_for_selector("path.choroplethlocation", state="attached")
    wait_until(lambda: page.locator("path.choroplethlocation").count() >= 156)  # grey base layer + values
    assert re.match(r"^[\d,]+$", page.locator(".headline-value").first.inner_text())
    assert "Registry as of" in page.inner_text("body") and "perturbed" in page.inner_text("body")
    assert "OpenStreetMap contributors" in page.inner_text("body")
    screenshot(page, "home")
    box = page.locator("path.choroplethlocation").nth(40).bounding_box()
    page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.wait_for_url(re.compile(r".*/district/PK\w+$"))
    page.wait_for_selector(".headline-value")
    page.wait_for_selector(".js-plotly-plot .bars, .js-plotly-plot .barlayer", state="attached")
    assert "Households by PMT band" in page.inner_text("body")
    screenshot(page, "district")
    assert_offline(page)


def test_district_dashboard_on_a_phone_and_its_size(app_server, browser, screenshot):
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    page = context.new_page()
    page.goto(app_server + "/district/PK601")
    page.wait_for_selector(".headline-value")
    page.wait_for_load_state("networkidle")
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 392  # nothing forces sideways scrolling
    transferred = page.evaluate("""() => performance.getEntriesByType('navigation').concat(
        performance.getEntriesByType('resource')).reduce((s, e) => s + (e.transferSize || 0), 0)""")
    assert transferred <= 2.5 * 2**20, transferred
    screenshot(page, "district-phone", full_page=False)
    context.close()


def test_anonymous_is_redirected_from_the_explorer(app_server, page):
    page.goto(app_server + "/explore")
    page.wait_for_url(re.compile(r".*/login\?next=/explore$"))
    page.wait_for_selector("#login-username")


def test_a_shared_explorer_link_survives_the_login(app_server, page):
    shared = "/explore?cube=beneficiaries&m=beneficiaries&level=tehsil&area=PK601&chart=table"
    page.goto(app_server + shared)
    page.wait_for_selector("#login-username")
    page.fill("#login-username", "planner")
    page.fill("#login-password", "wrong password")
    page.click("#login-submit")
    page.wait_for_selector("#login-error")  # a failed attempt keeps the link too
    page.fill("#login-username", "planner")
    page.fill("#login-password", PASSWORD)
    page.click("#login-submit")
    page.wait_for_url(re.compile(r".*/explore\?cube=beneficiaries.*area=PK601.*"))
    expect(page.locator("#ex-table .ag-center-cols-container .ag-row")).to_have_count(6)


def test_business_user_slices_beneficiaries_by_tehsil_and_exports_the_table(app_server, page, screenshot):
    login(page, app_server, "planner")
    page.wait_for_selector("#ex-table")
    page.evaluate("window.__still_this_page = true")
    page.click("text=Beneficiaries by tehsil")  # click one
    page.wait_for_url(re.compile(r".*cube=beneficiaries.*level=tehsil.*"))
    assert page.evaluate("window.__still_this_page === true"), "a quick start reloaded the page"
    choose(page, "ex-province", "Punjab")  # click two: narrow to one district
    page.wait_for_url(re.compile(r".*area=PK6&.*"))
    choose(page, "ex-district", "Attock")
    page.wait_for_url(re.compile(r".*area=PK601.*"))
    rows_of_table = page.locator("#ex-table .ag-center-cols-container .ag-row")
    expect(rows_of_table).to_have_count(6)  # Attock's six tehsils
    expect(page.locator("#ex-graph .js-plotly-plot")).to_have_count(1)
    shown = grid_rows(page)
    assert len(shown) == 6 and all(r[0].startswith("PK601T") for r in shown)
    screenshot(page, "explorer-beneficiaries-by-tehsil")
    with page.expect_download() as download:
        page.click("#ex-export-csv")
    with open(download.value.path(), encoding="utf-8") as fh:
        lines = [ln for ln in fh.read().splitlines() if not ln.startswith("#")]
    exported = list(csv.reader(io.StringIO("\n".join(lines))))
    assert exported[0][:2] == ["Tehsil code", "Tehsil"]
    assert sorted(tuple(r) for r in exported[1:]) == sorted(
        tuple(v if v != "x" else "" for v in row)
        for row in ((c, n, val.replace(",", "")) for c, n, val in shown)
    )
    assert "UNPROTECTED" not in page.inner_text("body")
    # the URL holds the state: reloading shows the same table
    page.reload()
    expect(page.locator("#ex-table .ag-center-cols-container .ag-row")).to_have_count(6)
    assert_offline(page)


def test_a_breakdown_is_a_cross_table_and_the_back_button_restores_it(app_server, page, screenshot):
    login(
        page, app_server, "planner", then="/explore?cube=persons&m=persons&d=gender&level=district&area=PK6"
    )
    expect(page.locator("#ex-table .ag-header-cell-text", has_text="Transgender")).to_have_count(1)
    expect(page.locator("#ex-table .ag-center-cols-container .ag-row")).to_have_count(36)
    crossed = grid_rows(page)
    assert len(crossed) == 36 and all(len(r) == 5 for r in crossed)  # Punjab's districts × 3 genders + names
    screenshot(page, "explorer-cross-table")
    page.evaluate("window.__still_this_page = true")
    choose(page, "ex-across", "None: one row per cell")
    page.wait_for_url(re.compile(r".*cols=none.*"))
    assert page.evaluate("window.__still_this_page === true"), "a change in the explorer reloaded the page"
    expect(page.locator("#ex-table .ag-header-cell-text", has_text="Transgender")).to_have_count(0)
    expect(page.locator("#ex-table .ag-center-cols-container .ag-row")).to_have_count(50)
    long = grid_rows(page)
    assert len(long) == 50  # the first page of 108 cells (36 districts × 3)
    by_cell = {
        (c[0], g): v for c in crossed for g, v in zip(("Male", "Female", "Transgender"), c[2:], strict=True)
    }
    assert all(by_cell[r[0], r[2]] == r[3] for r in long)  # the same values, laid out differently
    page.go_back()  # to the link as it was opened: the explorer does not rewrite a URL it arrives on
    page.wait_for_url(re.compile(r".*d=gender&level=district&area=PK6$"))
    expect(page.locator("#ex-table .ag-header-cell-text", has_text="Transgender")).to_have_count(1)


def test_mis_sees_the_unprotected_marker(app_server, page, screenshot):
    login(
        page,
        app_server,
        "mis",
        then="/explore?cube=persons&m=persons&d=gender&level=union_council&area=PK601T01",
    )
    page.wait_for_selector("#unprotected-marker")
    assert "UNPROTECTED" in page.inner_text("#unprotected-marker")
    page.wait_for_selector("#ex-table .ag-row")
    screenshot(page, "explorer-mis")
    page.goto(app_server + "/admin")
    page.wait_for_selector("#admin-users .ag-row")
    assert "planner" in page.inner_text("#admin-users")
