"""The data request journey in Chromium: a provincial authority asks for confidential data with its signed
NDA; the request goes to the DG NSER, who approves it; the requester collects the credentials from the
status page (once), sets their own password at the first login and reaches the Records page."""

from __future__ import annotations

import io
import re

import pytest
from playwright.sync_api import expect

from tests.browser.test_pages import PASSWORD, assert_offline, choose, login

pytestmark = pytest.mark.browser


def signed_nda() -> bytes:
    from reportlab.pdfgen import canvas

    buf = io.BytesIO()
    pdf = canvas.Canvas(buf)
    pdf.drawString(72, 720, "Non-disclosure agreement - signed for the Sindh Social Protection Authority")
    pdf.save()
    return buf.getvalue()


def status(page, reference: str, key: str) -> None:
    page.fill("#rq-status-ref", reference)
    page.fill("#rq-status-key", key)
    page.click("#rq-status-go")


def test_submit_route_approve_collect_and_the_new_user_logs_in(app_server, page, screenshot):
    nda_pdf = signed_nda()
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
    expect(page.locator("#rq-result")).to_contain_text("Signed NDA: upload")  # ... and the signed copy
    page.set_input_files(
        "#rq-nda-upload input[type=file]",
        files=[{"name": "signed-nda.pdf", "mimeType": "application/pdf", "buffer": nda_pdf}],
    )
    expect(page.locator("#rq-nda-name")).to_contain_text("signed-nda.pdf")
    page.click("#rq-submit")
    expect(page.locator("#rq-done")).to_contain_text("Director General NSER")
    reference = re.search(r"NSER-REQ-\d{4}-\d{6}", page.inner_text("#rq-done")).group(0)
    key = page.inner_text("#rq-key")
    screenshot(page, "request-submitted")
    status(page, reference, key)
    expect(page.locator("#rq-status")).to_contain_text("submitted — Director General NSER")
    expect(page.locator("#rq-status")).to_contain_text("Received: signed-nda.pdf")
    assert_offline(page)

    login(page, app_server, "dg", then="/admin/requests")
    expect(page.locator("#rqa-table")).to_contain_text(reference)
    expect(page.locator("#rqa-table")).to_contain_text("new organisation")
    with page.expect_download() as nda:
        page.click(f"#rqa-table a[href='/admin/requests/{reference}/signed-nda']")
    with open(nda.value.path(), "rb") as fh:
        assert fh.read() == nda_pdf  # the forum reads exactly what was uploaded
    page.fill("#rqa-ref", reference)
    choose(page, "rqa-role", "power")
    page.click("#rqa-approve")
    expect(page.locator("#rqa-out")).to_contain_text(
        "allows basic, standard, not power"
    )  # beyond the request
    choose(page, "rqa-role", "standard")
    page.fill("#rqa-scope", "PK7")
    page.click("#rqa-approve")
    expect(page.locator("#rqa-out")).to_contain_text("approved: portal user imransoomro (standard)")
    approver_saw = page.inner_text("body")
    expect(page.locator("#rqa-outbox")).to_contain_text("imran.soomro@sspa.gos.pk")
    screenshot(page, "request-approved")
    page.click("text=Log out")
    page.wait_for_selector("text=Log in")

    # the requester, anonymous, collects the credentials with the status key: once
    page.goto(app_server + "/request")
    page.wait_for_selector("#rq-status-go")
    status(page, reference, key)
    expect(page.locator("#rq-status")).to_contain_text("Granted: portal user imransoomro (records: standard)")
    page.click("#rq-collect")
    expect(page.locator("#rq-cred")).to_contain_text("shown this once")
    username, password = page.inner_text("#rq-cred-user"), page.inner_text("#rq-cred-password")
    assert password not in approver_saw  # the approver never saw the requester's password
    screenshot(page, "request-credentials")
    page.click("#rq-collect")
    expect(page.locator("#rq-credentials")).to_contain_text("were collected on")

    page.goto(f"{app_server}/login?next=/records")
    page.fill("#login-username", username)
    page.fill("#login-password", password)
    page.click("#login-submit")
    page.wait_for_url(re.compile(r".*/account/password\?next=/records$"))
    page.wait_for_selector("#pw-submit")
    page.goto(app_server + "/records")  # nothing else opens before the temporary password is replaced
    page.wait_for_url(re.compile(r".*/account/password\?next=/records$"))
    page.fill("#pw-current", password)
    page.fill("#pw-new", "Sindh relief 2026 passphrase")
    page.fill("#pw-confirm", "Sindh relief 2026 passphrase")
    screenshot(page, "request-first-password")
    page.click("#pw-submit")
    page.wait_for_url(re.compile(r".*/records$"))
    expect(page.locator("#user-badge")).to_contain_text("Sindh Social Protection Authority")
    page.wait_for_selector("#rc-cnic")  # the Records page: a record-access role was granted
    assert password != PASSWORD
    assert_offline(page)
