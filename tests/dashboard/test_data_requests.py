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

from dashboard.accounts import Accounts  # noqa: E402
from dashboard.audit import AccessLog  # noqa: E402
from dashboard.data_requests import DataRequests, RequestError  # noqa: E402
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


@pytest.fixture()
def desk(store_engine):
    log = AccessLog(store_engine, key=AUDIT_KEY)
    acc = Accounts(store_engine, log)
    acc.add_organisation("BISP NSER MIS Wing", "bisp")
    acc.add_user(
        "dg",
        "Director General",
        "BISP NSER MIS Wing",
        "correct horse battery",
        tier="mis",
        duties=["dg_nser"],
    )
    acc.add_user(
        "board",
        "Board secretary",
        "BISP NSER MIS Wing",
        "correct horse battery",
        tier="mis",
        duties=["bisp_board"],
    )
    return DataRequests(store_engine, log), acc


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"organisation_name": " "}, "Name of the organisation"),
        ({"organisation_type": "club"}, "Type of organisation"),
        ({"organisation_type": "local_ngo"}, "Registration"),
        ({"email": "nadia"}, "Email"),
        ({"data_type": "everything"}, "Type of data"),
        ({"nda_accepted": False}, "NDA"),
        ({"frequency": "hourly"}, "Frequency"),
    ],
)
def test_the_form_names_what_is_wrong(desk, change, message):
    requests, _ = desk
    with pytest.raises(RequestError, match=message):
        requests.submit({**FORM, **change})


def test_submit_route_status_decide_and_provision(desk):
    requests, accounts = desk
    reference, key, r, due = requests.submit(FORM, today=dt.date(2026, 12, 22))
    assert reference.startswith("NSER-REQ-2026-") and r.forum == "dg_nser" and due == dt.date(2026, 12, 30)
    status = requests.status(reference, key)
    assert status["state"] == "submitted" and status["forum"] == "Director General NSER"
    with pytest.raises(RequestError):
        requests.status(reference, "guess")
    board = accounts.get("board")
    with pytest.raises(RequestError, match="Director General NSER to decide"):
        requests.decide(board, reference, True)
    dg = accounts.get("dg")
    assert [q.reference for q in requests.queue(dg)] == [reference]
    with pytest.raises(RequestError, match="comment"):
        requests.decide(dg, reference, False)
    decision = requests.decide(
        dg, reference, True, "approved for the ration programme", {"record_role": "standard", "scope": "PK6"}
    )
    assert decision.state == "approved" and decision.provisioned["user"] == "nadiaqureshi"
    user = accounts.authenticate("nadiaqureshi", decision.temporary_password)
    assert (user.tier, user.record_role, user.scope, user.organisation) == (
        "business",
        "standard",
        "PK6",
        "Punjab Social Protection Authority",
    )
    assert requests.status(reference, key)["comment"] == "approved for the ration programme"
    with pytest.raises(RequestError, match="only a submitted request"):
        requests.decide(dg, reference, False, "changed my mind")


def test_secret_data_goes_to_the_board(desk):
    requests, accounts = desk
    reference, _, r, _ = requests.submit({**FORM, "data_type": "secret"})
    assert r.forum == "bisp_board" and [q.reference for q in requests.queue(accounts.get("board"))] == [
        reference
    ]


def test_provisioned_access_ends_on_its_date(desk, store_engine):
    from sqlalchemy import text

    from dashboard.accounts import LoginRefused

    requests, accounts = desk
    reference, _, _, _ = requests.submit(FORM)
    decision = requests.decide(
        accounts.get("dg"), reference, True, None, {"record_role": "basic", "days": 30}
    )
    user = decision.provisioned["user"]
    assert decision.provisioned["expires"] == (dt.date.today() + dt.timedelta(days=30)).isoformat()
    assert accounts.get(user) is not None
    with store_engine.begin() as conn:
        conn.execute(
            text("UPDATE users SET access_until = :d WHERE username = :u"),
            {"d": dt.date.today() - dt.timedelta(days=1), "u": user},
        )
    assert accounts.get(user) is None  # logged out on the next request
    with pytest.raises(LoginRefused, match="access ended"):
        accounts.authenticate(user, decision.temporary_password)


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


def test_a_forum_member_sees_only_their_forums_requests(desk):
    requests, accounts = desk
    requests.submit({**FORM, "data_type": "secret"})
    assert requests.queue(accounts.get("dg")) == []  # the Board's request is not the DG's to see
    assert len(requests.queue(accounts.get("board"))) == 1
