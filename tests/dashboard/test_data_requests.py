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
