"""Reports in Chromium: MIS designs and submits, the DG approves, the public finds and reads it; drafts and
rejected designs stay invisible by URL and by callback; the four-eyes rule holds in the UI."""

from __future__ import annotations

import json
import re

import pytest
from playwright.sync_api import expect

from tests.browser.test_pages import assert_offline, choose, login

pytestmark = pytest.mark.browser

DESIGN = {
    "slug": "cct-by-province-browser",
    "title": "Taleemi Wazaif enrolments by province",
    "description": "Children enrolled in the conditional cash transfer, province by province.",
    "topic": "Education",
    "audience": "public",
    "panels": [
        {
            "title": "Enrolments by province",
            "visual": "bar",
            "query": {
                "cube": "education_cct",
                "measures": ["enrolments"],
                "geography": {"level": "province"},
            },
        }
    ],
}


def designer_says(page, text: str) -> None:
    expect(page.locator("#ra-message")).to_contain_text(text)


def submitted_then_dg(page, app_server: str, slug: str, title: str) -> None:
    """The MIS team saves and submits a design; then the DG NSER logs in to the designer."""
    login(page, app_server, "mis", then="/admin/reports")
    page.wait_for_selector("#ra-design")
    # The blank design arrives by callback; filling before it lands would be overwritten.
    expect(page.locator("#ra-design")).to_have_value(re.compile("new-report"))
    page.fill("#ra-design", json.dumps({**DESIGN, "slug": slug, "title": title}))
    page.click("#ra-save")
    designer_says(page, f"Saved {slug} v1")
    page.click("#ra-submit")
    designer_says(page, "submitted")
    log_out(page)
    login(page, app_server, "dg", then="/admin/reports")


def log_out(page) -> None:
    page.click("text=Log out")
    page.wait_for_selector("text=Log in")


def test_design_submit_approve_publish_and_only_then_public(app_server, page, browser, screenshot):
    slug = DESIGN["slug"]
    login(page, app_server, "mis", then="/admin/reports")
    page.wait_for_selector("#ra-design")
    expect(page.locator("#ra-design")).to_have_value(re.compile("new-report"))
    page.fill("#ra-design", json.dumps(DESIGN, indent=1))
    page.click("#ra-preview")
    designer_says(page, "Preview as the public audience will see it")
    expect(page.locator("#ra-preview-out .js-plotly-plot")).to_have_count(1)
    page.click("#ra-save")
    designer_says(page, f"Saved {slug} v1 as a draft")
    screenshot(page, "report-designer")

    anonymous = browser.new_context()
    assert anonymous.request.get(f"{app_server}/reports/{slug}").status == 404  # a draft is not public

    page.click("#ra-submit")
    designer_says(page, "submitted to the DG NSER")
    page.fill("#ra-version", "1")
    page.click("#ra-approve")  # the designer may not approve their own design, duty or not
    designer_says(page, "four-eyes rule")
    assert anonymous.request.get(f"{app_server}/reports/{slug}").status == 404  # submitted: still not public
    log_out(page)

    login(page, app_server, "dg", then="/admin/reports")
    page.wait_for_selector("#ra-pick")
    choose(page, "ra-pick", slug)
    expect(page.locator("#ra-design")).to_have_value(re.compile(slug))
    page.fill("#ra-version", "1")
    page.fill("#ra-comment", "checked against the programme's own figures")
    page.click("#ra-approve")
    designer_says(page, f"{slug} v1 is approved and published")
    expect(page.locator("#ra-history-table")).to_contain_text("publish")
    expect(page.locator("#ra-history-table")).to_contain_text("checked against")
    log_out(page)

    page.goto(f"{app_server}/reports")
    page.fill("#rp-search", "enrolments province")
    page.keyboard.press("Enter")
    expect(page.locator(".report-card")).to_have_count(1)
    page.click(f"a[href='/reports/{slug}']")
    page.wait_for_selector(".report-stamp")
    expect(page.locator(".report-stamp")).to_contain_text("Approved by dg")
    expect(page.locator("#rp-panels .js-plotly-plot")).to_have_count(1)
    body = page.inner_text("body")
    assert "version 1" in body and "Registry as of" in body and "perturbed" in body
    screenshot(page, "report-published")
    with page.expect_download() as pdf:
        page.click("#rp-pdf")
    with open(pdf.value.path(), "rb") as fh:
        assert fh.read(5) == b"%PDF-"
    with page.expect_download() as csv_file:
        page.click("#rp-panels >> text=CSV")
    with open(csv_file.value.path(), encoding="utf-8") as fh:
        assert "Punjab" in fh.read()
    assert_offline(page)

    login(page, app_server, "mis", then="/admin/reports")  # revoke in one click
    page.click(f"#ra-public >> text={slug} v1 >> xpath=.. >> button")
    designer_says(page, f"{slug} is retired")
    assert anonymous.request.get(f"{app_server}/reports/{slug}").status == 404
    anonymous.close()


def test_a_rejected_design_is_invisible_by_url_and_by_callback(app_server, page, browser):
    slug = "rejected-in-browser"
    submitted_then_dg(page, app_server, slug, "To be rejected")
    choose(page, "ra-pick", slug)
    page.fill("#ra-version", "1")
    page.click("#ra-reject")
    designer_says(page, "a rejection needs a comment")
    page.fill("#ra-comment", "name the census year")
    page.click("#ra-reject")
    designer_says(page, f"{slug} v1 is rejected")
    log_out(page)

    anonymous = browser.new_context()
    assert anonymous.request.get(f"{app_server}/reports/{slug}").status == 404
    assert anonymous.request.get(f"{app_server}/reports/no-such-report").status == 404
    deps = anonymous.request.get(f"{app_server}/_dash-dependencies").json()
    view = next(d for d in deps if d["output"].startswith("..rp-header."))
    payload = {
        "output": view["output"],
        "outputs": [
            {"id": o.split(".")[0], "property": o.split(".")[1]} for o in view["output"][2:-2].split("...")
        ],
        "inputs": [
            {"id": "rp-slug", "property": "data", "value": {"slug": slug, "params": {}}},
            {"id": "rp-param", "property": "value", "value": None},
        ],
        "state": [],
        "changedPropIds": ["rp-slug.data"],
    }
    answer = anonymous.request.post(
        f"{app_server}/_dash-update-component",
        data=json.dumps(payload),
        headers={"Content-Type": "application/json"},
    )
    assert answer.status == 200
    text = answer.text()
    assert "no published report at this address" in text and "To be rejected" not in text
    page.goto(f"{app_server}/reports")
    expect(page.locator(".report-card").first).to_be_visible()
    assert "To be rejected" not in page.inner_text("body")
    anonymous.close()


def test_a_decision_is_on_the_report_picked_even_before_its_design_has_loaded(app_server, page, browser):
    """The DG picks a report and clicks at once: the editor still holds what it showed before (here the
    blank design). The decision must be on the report picked, never on the editor's."""
    slug = "picked-before-loaded"
    submitted_then_dg(page, app_server, slug, "Picked")
    page.wait_for_selector("#ra-design")
    # The blank design arrives by callback after the textarea is on the page: wait for it.
    expect(page.locator("#ra-design")).to_have_value(re.compile('"new-report"'))
    blank = page.locator("#ra-design").input_value()
    deps = page.request.get(f"{app_server}/_dash-dependencies").json()
    designer = next(d for d in deps if "ra-message.children" in d["output"])
    values = {"ra-pick.value": slug, "ra-reject.n_clicks": 1, "ra-design.value": blank}
    values |= {"ra-version.value": "1", "ra-comment.value": "name the census year"}

    def item(dep: dict) -> dict | list:
        if dep["id"].startswith("{"):  # a pattern-matching input (retire buttons): none here
            return []
        return {**dep, "value": values.get(f"{dep['id']}.{dep['property']}")}

    payload = {
        "output": designer["output"],
        "outputs": [
            {"id": o.rsplit(".", 1)[0], "property": o.rsplit(".", 1)[1]}
            for o in designer["output"][2:-2].split("...")
        ],
        "inputs": [item(d) for d in designer["inputs"]],
        "state": [item(d) for d in designer["state"]],
        "changedPropIds": ["ra-reject.n_clicks"],
    }
    answer = page.request.post(
        f"{app_server}/_dash-update-component",
        data=json.dumps(payload),
        headers={"Content-Type": "application/json"},
    )
    assert answer.status == 200, answer.text()
    assert f"{slug} v1 is rejected" in answer.text()
