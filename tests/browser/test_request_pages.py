"""The data request form in Chromium: a provincial authority asks for confidential data, the request is
routed to the DG NSER, who approves it; the new user logs in with the granted role."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.test_pages import PASSWORD, assert_offline, choose, login

pytestmark = pytest.mark.browser


def test_submit_route_approve_and_the_new_user_logs_in(app_server, page, screenshot):
    page.goto(app_server + "/request")
    page.wait_for_selector("#rq-submit")
    page.fill("#rq-organisation_name", "Sindh Social Protection Authority")
    choose(page, "rq-organisation_type", "Provincial government ministry")
    page.fill("#rq-address", "Karachi")
    page.fill("#rq-focal_person", "Imran Soomro")
    page.fill("#rq-email", "imran.soomro@sspa.gos.pk")
    page.fill("#rq-phone", "+92 21 9999999")
    page.fill("#rq-purpose", "Social protection in Sindh")
    page.fill("#rq-intended_use", "Targeting flood relief")
    choose(page, "rq-data_type", "Confidential record-level data")
    choose(page, "rq-frequency", "One time")
    page.fill("#rq-granularity", "Households by union council in Sindh")
    page.click("#rq-submit")
    expect(page.locator("#rq-result")).to_contain_text("NDA")  # record-level data needs the NDA first
    page.click("#rq-nda_accepted")
    page.click("#rq-submit")
    expect(page.locator("#rq-done")).to_contain_text("Director General NSER")
    reference = re.search(r"NSER-REQ-\d{4}-\d{6}", page.inner_text("#rq-done")).group(0)
    key = page.inner_text("#rq-key")
    screenshot(page, "request-submitted")
    page.fill("#rq-status-ref", reference)
    page.fill("#rq-status-key", key)
    page.click("#rq-status-go")
    expect(page.locator("#rq-status")).to_contain_text("submitted — Director General NSER")
    assert_offline(page)

    login(page, app_server, "dg", then="/admin/requests")
    expect(page.locator("#rqa-table")).to_contain_text(reference)
    page.fill("#rqa-ref", reference)
    choose(page, "rqa-role", "standard")
    page.fill("#rqa-scope", "PK7")
    page.click("#rqa-approve")
    expect(page.locator("#rqa-out")).to_contain_text("approved")
    password = page.inner_text("#rqa-password")
    screenshot(page, "request-approved")
    page.click("text=Log out")
    page.wait_for_selector("text=Log in")

    page.goto(f"{app_server}/login?next=/records")
    page.fill("#login-username", "imransoomro")
    page.fill("#login-password", password)
    page.click("#login-submit")
    expect(page.locator("#user-badge")).to_contain_text("Sindh Social Protection Authority")
    page.wait_for_selector("#rc-cnic")  # the Records page: a record-access role was granted
    assert password != PASSWORD
