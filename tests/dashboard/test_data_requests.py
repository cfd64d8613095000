"""Routing of data requests to the authorization forum (plan 7.3) and service timelines in working days
(8.5), both read from dashboard/requests.yaml."""

from __future__ import annotations

import datetime as dt

import pytest

from dashboard import governance
from dashboard.data_requests import add_working_days, due_date, is_overdue, route, working_days_between

PUBLIC = ["federal_government", "provincial_government", "local_government", "bisp"]
PRIVATE = [
    "donor",
    "local_ngo",
    "international_ngo",
    "private_business",
    "citizen_group",
    "educational_research",
]


def expected(data: str, org: str, approved: bool, published: bool) -> str:
    """The plan's table, written out independently of the rules file."""
    if data in ("secret", "complete_export"):
        return "bisp_board"
    if org not in PUBLIC + PRIVATE:
        return "secretary_bisp"  # any other organisation
    if data == "statistical":
        return "none" if published else "dg_nser"
    if org in PUBLIC:
        return "dg_nser"
    return "dg_nser" if approved else "secretary_bisp"


def test_the_lists_cover_every_organisation_type():
    assert set(PUBLIC + PRIVATE + ["other"]) == set(governance.load()["organisation_types"])


@pytest.mark.parametrize("data", ["statistical", "confidential", "secret", "complete_export"])
@pytest.mark.parametrize("org", PUBLIC + PRIVATE + ["other", "a_club"])
@pytest.mark.parametrize("approved", [False, True])
@pytest.mark.parametrize("published", [False, True])
def test_routing_matrix(data, org, approved, published):
    r = route(data, org, category_approved=approved, report_published=published)
    assert r.forum == expected(data, org, approved, published), r.why
    assert r.why and r.forum_label


def test_unknown_data_type_is_named():
    with pytest.raises(ValueError, match="data type"):
        route("everything", "donor")


def test_working_days_skip_weekends_and_public_holidays():
    friday = dt.date(2026, 11, 6)  # Monday 9 November is Iqbal Day
    assert add_working_days(friday, 1) == dt.date(2026, 11, 10)
    assert add_working_days(friday, 2) == dt.date(2026, 11, 11)
    assert working_days_between(friday, dt.date(2026, 11, 11)) == 2
    before_independence = dt.date(2026, 8, 13)  # Thursday; Friday 14 August is a holiday
    assert add_working_days(before_independence, 1) == dt.date(2026, 8, 17)
    saturday = dt.date(2026, 11, 28)
    assert add_working_days(saturday, 1) == dt.date(2026, 11, 30)


def test_due_dates_and_overdue_follow_the_service_timelines():
    received = dt.date(2026, 12, 22)  # Tuesday; 25 December is Quaid-e-Azam Day (a Friday)
    assert due_date("statistical", received) == ("Statistical report", dt.date(2026, 12, 24))
    assert due_date("confidential", received) == ("Access to online applications", dt.date(2026, 12, 30))
    assert not is_overdue("statistical", received, dt.date(2026, 12, 24))
    assert is_overdue("statistical", received, dt.date(2026, 12, 28))


# --- the request store: form, status, queues, decisions, provisioning (SQLite and PostgreSQL) ----------

import threading  # noqa: E402

from dashboard.accounts import Accounts  # noqa: E402
from dashboard.api_clients import ApiClients, TokenRefused  # noqa: E402
from dashboard.audit import AccessLog  # noqa: E402
from dashboard.data_requests import DataRequests, RequestError, Upload  # noqa: E402
from dashboard.notifications import Outbox, wait_for_deliveries  # noqa: E402
from tests.dashboard.conftest import AUDIT_KEY  # noqa: E402

FORM = {
    "organisation_name": "Punjab Social Protection Authority",
    "organisation_type": "provincial_government",
    "address": "Lahore",
    "focal_person": "Nadia Qureshi",
    "email": "nadia.qureshi@pspa.gop.pk",
    "phone": "+92 42 1234567",
    "purpose": "Social protection programmes in Punjab",
    "intended_use": "Targeting a provincial ration programme",
    "data_type": "confidential",
    "granularity": "Households by union council in Punjab",
    "frequency": "one_time",
    "nda_accepted": True,
}
STATISTICS = {**FORM, "data_type": "statistical", "nda_accepted": False}


def signed_nda_pdf() -> bytes:
    """A real one-page PDF, as a scanner or a word processor would send."""
    import io

    from reportlab.pdfgen import canvas

    buf = io.BytesIO()
    pdf = canvas.Canvas(buf)
    pdf.drawString(72, 720, "Non-disclosure agreement (Schedule III) - signed for PSPA")
    pdf.save()
    return buf.getvalue()


NDA = {"signed_nda": Upload("Signed NDA (PSPA).pdf", signed_nda_pdf())}


@pytest.fixture()
def desk(store_engine):
    log = AccessLog(store_engine, key=AUDIT_KEY)
    acc = Accounts(store_engine, log)
    acc.add_organisation("BISP NSER MIS Wing", "bisp")
    for username, duty in (("dg", "dg_nser"), ("board", "bisp_board"), ("secretary", "secretary_bisp")):
        acc.add_user(
            username, username, "BISP NSER MIS Wing", "correct horse battery", tier="mis", duties=[duty]
        )
    yield DataRequests(store_engine, log), acc
    wait_for_deliveries()  # no background delivery may outlive the test's database


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"organisation_name": " "}, "Name of the organisation"),
        ({"organisation_type": "club"}, "Type of organisation"),
        ({"organisation_type": "bisp"}, "Type of organisation"),
        ({"organisation_type": "local_ngo"}, "Registration"),
        ({"email": "nadia"}, "Email"),
        ({"phone": "call me"}, "Contact number"),
        ({"data_type": "everything"}, "Type of data"),
        ({"nda_accepted": False}, "NDA"),
        ({"frequency": "hourly"}, "Frequency"),
        ({"channel": "fax"}, "Delivery"),
        ({"channel": "api", "callback_url": "ftp://x"}, "API callback URL"),
        ({"callback_url": "https://pspa.gop.pk/dci"}, "only for delivery through the API"),
        ({"email": "x@[y.z"}, "Email"),  # once accepted, then broke the mail to the requester
        ({"email": "a,root@c.d"}, "Email"),  # two recipients in one field
        ({"email": 12345}, "Email: text expected"),
        ({"organisation_type": ["provincial_government"]}, "Type of organisation: text expected"),
        ({"nda_accepted": "no"}, "NDA"),  # only the ticked checkbox counts
        ({"registration_number": "R" * 101}, "Registration number: at most 100 characters"),
        ({"callback_url": "https://x.pk/" + "a" * 400, "channel": "api"}, "API callback URL: at most 400"),
        ({"data_type": "complete_export", "channel": "api"}, "not delivered through the API"),
    ],
)
def test_the_form_names_what_is_wrong(desk, change, message):
    requests, _ = desk
    with pytest.raises(RequestError, match=message):
        requests.submit({**FORM, **change}, documents=NDA)


@pytest.mark.parametrize(
    ("upload", "message"),
    [
        (None, "Signed NDA: upload the NDA"),
        (Upload("nda.docx", b"PK\x03\x04 a word document"), "nda.docx is not a PDF, PNG, JPEG file"),
        (Upload("huge.pdf", b"%PDF-" + b"0" * 5_000_001), "huge.pdf is 5.0 MB; at most 5 MB"),
    ],
)
def test_record_level_data_needs_a_signed_nda_that_is_a_pdf_or_a_scan(desk, upload, message):
    requests, _ = desk
    with pytest.raises(RequestError, match=message):
        requests.submit(FORM, documents={"signed_nda": upload} if upload else None)


@pytest.mark.parametrize(
    ("org", "data", "message"),
    [
        ("private_business", "secret", "government organisations only"),
        ("educational_research", "complete_export", "government organisations only"),
        ("other", "secret", "government organisations only"),
        ("citizen_group", "confidential", "statistical reports in the public domain only"),
    ],
)
def test_who_may_ask_for_what_follows_the_plan(desk, org, data, message):
    requests, _ = desk
    form = {**FORM, "organisation_type": org, "data_type": data, "registration_number": "REG-1"}
    with pytest.raises(RequestError, match=message):
        requests.submit(form, documents=NDA)


def test_submit_route_status_decide_provision_and_collect_once(desk, store_engine):
    requests, accounts = desk
    reference, key, r, due = requests.submit(FORM, today=dt.date(2026, 12, 22), documents=NDA)
    assert reference.startswith("NSER-REQ-2026-") and r.forum == "dg_nser" and due == dt.date(2026, 12, 30)
    status = requests.status(reference, key)
    assert status["state"] == "submitted" and status["forum"] == "Director General NSER"
    assert status["documents"][0]["filename"] == "Signed_NDA_PSPA_.pdf"
    with pytest.raises(RequestError):
        requests.status(reference, "guess")
    with pytest.raises(RequestError, match="Director General NSER to decide"):
        requests.decide(accounts.get("board"), reference, True)
    dg = accounts.get("dg")
    assert [q.reference for q in requests.queue(dg)] == [reference]
    with pytest.raises(RequestError, match="comment"):
        requests.decide(dg, reference, False)
    with pytest.raises(RequestError, match="credentials to collect"):
        requests.collect_credentials(reference, key)
    decision = requests.decide(
        dg, reference, True, "approved for the ration programme", {"record_role": "standard", "scope": "PK6"}
    )
    p = decision.provisioned
    assert decision.state == "approved" and p["user"] == "nadiaqureshi" and p["api_client"] is None
    import hashlib

    assert p["nda"]["sha256"] == hashlib.sha256(NDA["signed_nda"].content).hexdigest()
    assert requests.queue(dg) == []
    # the approver never saw a password: the requester collects one, once
    got = requests.collect_credentials(reference, key)
    assert got["username"] == "nadiaqureshi" and len(got["password"]) >= 12
    with pytest.raises(RequestError, match="were collected on"):
        requests.collect_credentials(reference, key)
    user = accounts.authenticate("nadiaqureshi", got["password"])
    assert (user.tier, user.record_role, user.scope, user.organisation, user.must_change_password) == (
        "business",
        "standard",
        "PK6",
        "Punjab Social Protection Authority",
        True,
    )
    accounts.change_password(
        "nadiaqureshi", got["password"], "a longer own passphrase", "a longer own passphrase"
    )
    assert accounts.authenticate("nadiaqureshi", "a longer own passphrase").must_change_password is False
    status = requests.status(reference, key)
    assert status["comment"] == "approved for the ration programme"
    assert status["granted"]["user"] == "nadiaqureshi" and status["credentials_collected_at"] is not None
    with pytest.raises(RequestError, match="only a submitted request"):
        requests.decide(dg, reference, False, "changed my mind")
    kinds = [(e.kind, e.outcome) for e in requests.log.rows() if e.kind == "data_request"]
    assert kinds == [
        ("data_request", "submitted"),
        ("data_request", "approved"),
        ("data_request", "collected"),
    ]


@pytest.mark.parametrize(
    ("grant", "message"),
    [
        ({"record_role": "power"}, "allows basic, standard, not power"),
        ({"days": 400}, "between 1 and 365"),
        ({"days": "soon"}, "a whole number"),
        ({"days": 0}, "between 1 and 365"),  # not "the longest" by accident
        ({"days": 2.7}, "a whole number"),
        ({"scope": "PK99"}, "not a province, division, district or tehsil code"),
    ],
)
def test_a_forum_grants_no_more_than_the_request_allows(desk, grant, message):
    requests, accounts = desk
    reference, _, _, _ = requests.submit(FORM, documents=NDA)
    with pytest.raises(RequestError, match=message):
        requests.decide(accounts.get("dg"), reference, True, None, grant)
    assert [q.reference for q in requests.queue(accounts.get("dg"))] == [reference]  # still waiting


def test_statistics_give_no_record_role(desk):
    requests, accounts = desk
    reference, _, _, _ = requests.submit(STATISTICS)
    with pytest.raises(RequestError, match="allows none, not basic"):
        requests.decide(accounts.get("dg"), reference, True, None, {"record_role": "basic"})
    decision = requests.decide(accounts.get("dg"), reference, True)
    assert decision.provisioned["record_role"] == "none" and decision.provisioned["nda"] is None


def test_delivery_by_api_provisions_a_client_whose_secret_only_the_requester_gets(desk, store_engine):
    requests, accounts = desk
    form = {**FORM, "channel": "both", "callback_url": "https://pspa.gop.pk/dci"}
    reference, key, _, _ = requests.submit(form, documents=NDA)
    with pytest.raises(
        RequestError, match="allows aggregates, pmt_lookup, registry_search, feedback, not export"
    ):
        requests.decide(accounts.get("dg"), reference, True, None, {"api_scopes": ["export"]})
    with pytest.raises(RequestError, match="grant at least one scope"):  # a cleared list is not "all"
        requests.decide(accounts.get("dg"), reference, True, None, {"api_scopes": []})
    decision = requests.decide(
        accounts.get("dg"), reference, True, None, {"api_scopes": ["pmt_lookup"], "days": 30}
    )
    cid = decision.provisioned["api_client"]
    assert decision.provisioned["user"] == "nadiaqureshi" and decision.provisioned["api_scopes"] == [
        "pmt_lookup"
    ]
    clients = ApiClients(store_engine, secret_key="k" * 64, log=requests.log)
    row = next(c for c, _ in clients.list() if c.client_id == cid)
    assert (row.scopes, row.record_role, row.callback_url) == (
        ["pmt_lookup"],
        "basic",
        "https://pspa.gop.pk/dci",
    )
    assert row.access_until == dt.date.today() + dt.timedelta(days=30)
    got = requests.collect_credentials(reference, key)
    token = clients.issue_token(cid, got["client_secret"])
    assert clients.authenticate(token).scopes == ("pmt_lookup",)
    from sqlalchemy import text

    with store_engine.begin() as conn:  # the granted access has ended
        conn.execute(
            text("UPDATE api_clients SET access_until = :d WHERE client_id = :c"),
            {"d": dt.date.today() - dt.timedelta(days=1), "c": cid},
        )
    with pytest.raises(TokenRefused, match="access ended"):
        clients.authenticate(token)
    with pytest.raises(TokenRefused):
        clients.issue_token(cid, got["client_secret"])


def test_approval_updates_a_known_organisation_and_refuses_a_different_type(desk):
    requests, accounts = desk
    accounts.add_organisation(
        "Punjab Social Protection Authority", "provincial_government", address="old office"
    )
    reference, key, _, _ = requests.submit({**FORM, "address": "Lahore, 1 Davis Road"}, documents=NDA)
    [row] = requests.queue(accounts.get("dg"))
    assert requests.organisation_changes(row) == (True, {"address": ("old office", "Lahore, 1 Davis Road")})
    decision = requests.decide(accounts.get("dg"), reference, True)
    assert decision.provisioned["organisation_changes"] == {
        "address": {"from": "old office", "to": "Lahore, 1 Davis Road"}
    }
    org = next(o for o in accounts.organisations() if o.name == "Punjab Social Protection Authority")
    assert org.address == "Lahore, 1 Davis Road"
    assert any(
        e.action == "organisation.update" and "old office" in e.parameters for e in requests.log.rows()
    )
    # the same name claimed by another type of organisation is for the forum to sort out, not to overwrite
    other, _, _, _ = requests.submit(
        {**FORM, "organisation_type": "local_government", "email": "x@lg.gop.pk"}, documents=NDA
    )
    with pytest.raises(RequestError, match="registered as Provincial government"):
        requests.decide(accounts.get("dg"), other, True)
    assert [q.reference for q in requests.queue(accounts.get("dg"))] == [other]


def test_two_members_approving_at_once_make_one_decision(desk, store_engine):
    requests, accounts = desk
    accounts.add_user(
        "dg2", "Second DG", "BISP NSER MIS Wing", "correct horse battery", tier="mis", duties=["dg_nser"]
    )
    reference, _, _, _ = requests.submit(FORM, documents=NDA)
    outcomes, start = [], threading.Barrier(2)

    def approve(who):
        start.wait()
        try:
            outcomes.append(requests.decide(accounts.get(who), reference, True).state)
        except RequestError as exc:
            outcomes.append(str(exc))

    threads = [threading.Thread(target=approve, args=(w,)) for w in ("dg", "dg2")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert outcomes.count("approved") == 1, outcomes
    [other] = [o for o in outcomes if o != "approved"]
    assert "being decided by another member" in other or "only a submitted request" in other
    assert [u.username for u, _ in accounts.users()].count("nadiaqureshi") == 1


def test_secret_data_from_government_goes_to_the_board(desk):
    requests, accounts = desk
    reference, _, r, _ = requests.submit({**FORM, "data_type": "secret"}, documents=NDA)
    assert r.forum == "bisp_board"
    assert [q.reference for q in requests.queue(accounts.get("board"))] == [reference]
    decision = requests.decide(accounts.get("board"), reference, True)
    assert decision.provisioned["record_role"] == "power"
    assert decision.provisioned["expires"] == (dt.date.today() + dt.timedelta(days=180)).isoformat()


def test_provisioned_access_ends_on_its_date(desk, store_engine):
    from sqlalchemy import text

    from dashboard.accounts import LoginRefused

    requests, accounts = desk
    reference, key, _, _ = requests.submit(FORM, documents=NDA)
    decision = requests.decide(
        accounts.get("dg"), reference, True, None, {"record_role": "basic", "days": 30}
    )
    user = decision.provisioned["user"]
    assert decision.provisioned["expires"] == (dt.date.today() + dt.timedelta(days=30)).isoformat()
    password = requests.collect_credentials(reference, key)["password"]
    assert accounts.get(user) is not None
    with store_engine.begin() as conn:
        conn.execute(
            text("UPDATE users SET access_until = :d WHERE username = :u"),
            {"d": dt.date.today() - dt.timedelta(days=1), "u": user},
        )
    assert accounts.get(user) is None  # logged out on the next request
    with pytest.raises(LoginRefused, match="access ended"):
        accounts.authenticate(user, password)


def test_statistics_in_a_published_report_need_no_authorization(desk, store_engine):
    import json
    from pathlib import Path

    from dashboard.reports import Reports

    requests, accounts = desk
    reports = Reports(store_engine, requests.log)
    designs = Path(__file__).resolve().parents[2] / "dashboard" / "report_designs"
    design = json.loads((designs / "survey-progress.json").read_text())
    accounts.add_user("sana", "Sana", "BISP NSER MIS Wing", "correct horse battery", tier="mis")
    reports.save_draft(accounts.get("sana"), design)
    reports.submit(accounts.get("sana"), "survey-progress")
    reports.approve(accounts.get("dg"), "survey-progress", 1)
    reference, _, r, _ = requests.submit(
        {**FORM, "data_type": "statistical", "report_slug": "survey-progress"}
    )
    assert r.forum == "none" and requests.queue(accounts.get("dg")) == []
    with pytest.raises(RequestError, match="no published report"):
        requests.submit({**FORM, "data_type": "statistical", "report_slug": "nope"})


def test_a_requester_who_asked_in_urdu_is_written_to_in_urdu(desk, store_engine):
    import flask

    from dashboard import i18n

    requests, accounts = desk
    with flask.Flask("t").test_request_context("/request?lang=ur"):
        reference, _, _, _ = requests.submit(FORM, documents=NDA)
    with flask.Flask("t").test_request_context("/admin/requests?lang=en"):  # the forum decides in English
        requests.decide(accounts.get("dg"), reference, False, "Please narrow the request to two districts")
    mails = {n.subject: n for n in Outbox(store_engine).recent(10, reference=reference)}
    received = mails[f"این ایس ای آر ڈیٹا کی درخواست {reference} موصول ہو گئی"]
    assert "ہمیں آپ کی درخواست" in received.body and "ڈائریکٹر جنرل" in received.body
    rejected = mails[f"این ایس ای آر ڈیٹا کی درخواست {reference} منظور نہیں ہوئی"]
    assert "Please narrow the request to two districts" in rejected.body  # the forum's own words, as written
    assert rejected.body.startswith(f"آپ کی درخواست {reference} منظور نہیں ہوئی۔")
    # the forum's own mailbox is written to in English, the desk's working language
    assert f"New data request {reference} for the Director General NSER" in mails
    with flask.Flask("t").test_request_context("/request?lang=ur"):
        second, _, _, due = requests.submit(FORM, documents=NDA)
    requests.decide(accounts.get("dg"), second, True, None, {"record_role": "basic"})  # from the CLI: no page
    mails = {n.subject: n for n in Outbox(store_engine).recent(10, reference=second)}
    approved = mails[f"این ایس ای آر ڈیٹا کی درخواست {second} منظور ہو گئی"].body
    assert approved.startswith(f"آپ کی درخواست {second} منظور ہو گئی۔") and "رول بیسک" in approved
    with flask.Flask("t").test_request_context("/?lang=ur"):
        assert i18n.long_date(due) in mails[f"این ایس ای آر ڈیٹا کی درخواست {second} موصول ہو گئی"].body


def test_a_forum_member_sees_only_their_forums_requests(desk):
    requests, accounts = desk
    requests.submit({**FORM, "data_type": "secret"}, documents=NDA)
    assert requests.queue(accounts.get("dg")) == []  # the Board's request is not the DG's to see
    assert len(requests.queue(accounts.get("board"))) == 1


def test_the_requester_and_the_forum_are_told(desk, store_engine):
    requests, accounts = desk
    reference, key, _, _ = requests.submit(FORM, documents=NDA)
    requests.decide(accounts.get("dg"), reference, False, "Please narrow the request to two districts")
    told = {(n.to_address, n.subject) for n in Outbox(store_engine).recent(10, reference=reference)}
    assert told == {
        ("nadia.qureshi@pspa.gop.pk", f"NSER data request {reference} received"),
        ("dg-nser@bisp.gov.pk", f"New data request {reference} for the Director General NSER"),
        ("nadia.qureshi@pspa.gop.pk", f"NSER data request {reference} rejected"),
    }
    rejected = next(
        n for n in Outbox(store_engine).recent(10, reference=reference) if "rejected" in n.subject
    )
    assert "Please narrow the request to two districts" in rejected.body
    assert key not in " ".join(n.body for n in Outbox(store_engine).recent(10))  # the key is never mailed
    assert requests.status(reference, key)["state"] == "rejected"


def test_overdue_requests_are_reminded_to_their_forum(desk, store_engine):
    requests, accounts = desk
    late, _, _, _ = requests.submit(FORM, today=dt.date(2026, 11, 2), documents=NDA)
    requests.submit({**FORM, "data_type": "secret"}, today=dt.date(2026, 11, 2), documents=NDA)
    fresh, _, _, _ = requests.submit(FORM, today=dt.date(2026, 12, 1), documents=NDA)
    today = dt.date(2026, 12, 2)
    assert [r.reference for r in requests.overdue(today)][0] == late
    assert fresh not in [r.reference for r in requests.overdue(today)]
    assert requests.remind(today) == {"dg_nser": 1, "bisp_board": 1}
    reminder = next(n for n in Outbox(store_engine).recent(5) if n.to_address == "dg-nser@bisp.gov.pk")
    assert late in reminder.body and "overdue" in reminder.subject


def _state(store_engine, reference: str) -> str:
    from sqlalchemy import text

    with store_engine.connect() as conn:
        return conn.execute(
            text("SELECT state FROM data_requests WHERE reference = :r"), {"r": reference}
        ).scalar()


def test_a_decision_that_fails_half_way_leaves_nothing_behind_and_can_be_taken_again(
    desk, store_engine, monkeypatch
):
    """The portal user is made, then the API client cannot be (the store fails): the user is removed,
    the request goes back to the queue, and approving again gives the same username."""
    requests, accounts = desk
    reference, key, _, _ = requests.submit({**FORM, "channel": "both"}, documents=NDA)

    def store_fails(*_a, **_k):
        raise RuntimeError("the database connection dropped")

    monkeypatch.setattr(ApiClients, "add", store_fails)  # a fault injected into the real store path
    with pytest.raises(RequestError, match="could not be approved .RuntimeError.; nothing was granted"):
        requests.decide(accounts.get("dg"), reference, True)
    assert _state(store_engine, reference) == "submitted"
    assert "nadiaqureshi" not in {u.username for u, _ in accounts.users()}
    assert any(e.action == "user.remove" and e.reason == "provisioning failed" for e in requests.log.rows())
    monkeypatch.undo()
    decision = requests.decide(accounts.get("dg"), reference, True)
    assert decision.provisioned["user"] == "nadiaqureshi" and decision.provisioned["api_client"]
    assert _state(store_engine, reference) == "approved"


def test_a_refused_grant_leaves_the_request_waiting(desk, store_engine):
    requests, accounts = desk
    reference, _, _, _ = requests.submit(FORM, documents=NDA)
    with pytest.raises(RequestError):
        requests.decide(accounts.get("dg"), reference, True, None, {"record_role": "power"})
    with pytest.raises(RequestError, match="Comment: text expected"):
        requests.decide(accounts.get("dg"), reference, False, 42)
    assert _state(store_engine, reference) == "submitted"


def test_collecting_never_re_enables_what_bisp_disabled_or_revoked(desk, store_engine):
    requests, accounts = desk
    reference, key, _, _ = requests.submit({**FORM, "channel": "both"}, documents=NDA)
    decision = requests.decide(accounts.get("dg"), reference, True)
    accounts.disable(decision.provisioned["user"], actor="mis")
    with pytest.raises(RequestError, match="disabled or removed by BISP"):
        requests.collect_credentials(reference, key)
    assert accounts.get(decision.provisioned["user"]) is None  # still disabled
    accounts.enable(decision.provisioned["user"], actor="mis")
    ApiClients(store_engine, log=requests.log).revoke(decision.provisioned["api_client"], actor="mis")
    with pytest.raises(RequestError, match="revoked by BISP"):
        requests.collect_credentials(reference, key)
    assert requests.status(reference, key)["credentials_collected_at"] is None  # may collect once fixed
