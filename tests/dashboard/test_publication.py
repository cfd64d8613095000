"""Published reports: computed through the gateway as the audience, cached, and only when published."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cubes.events import MemorySink
from cubes.gateway import Gateway
from dashboard import oversight, publication
from dashboard.accounts import Accounts
from dashboard.reports import ReportNotFound, Reports
from tests.conftest import make_actor

PASSWORD = "correct horse battery"
DESIGNS = Path(__file__).resolve().parents[2] / "dashboard" / "report_designs"


@pytest.fixture()
def published(cubes_store, tmp_path, monkeypatch):
    """The small warehouse, a fresh store, and a way to publish a starter design (mis designs, dg approves)."""
    monkeypatch.setenv("NSER_DATA_DIR", str(cubes_store.root))
    monkeypatch.setenv("NSER_DATABASE_URL", f"sqlite:///{tmp_path / 'nser.sqlite'}")
    monkeypatch.setenv("NSER_AUDIT_KEY", "b" * 64)
    monkeypatch.setattr(oversight, "_GATEWAY", None)
    monkeypatch.setattr(publication, "_CACHE", None)
    acc = Accounts()
    acc.add_organisation("BISP NSER MIS Wing", "bisp")
    acc.add_user("sana", "Sana Mirza", "BISP NSER MIS Wing", PASSWORD, tier="mis")
    acc.add_user("dg", "Director General", "BISP NSER MIS Wing", PASSWORD, tier="mis", duties=["dg_nser"])
    reports = Reports()

    def publish(slug: str) -> Reports:
        reports.save_draft(acc.get("sana"), json.loads((DESIGNS / f"{slug}.json").read_text()))
        reports.submit(acc.get("sana"), slug)
        reports.approve(acc.get("dg"), slug, 1)
        return reports

    publish.accounts = acc
    return publish


def test_published_values_equal_the_gateways_public_values_and_come_from_the_cache(published, cubes_store):
    reports = published("widows-by-tehsil")
    first = publication.render("widows-by-tehsil", {"district": "PK602"}, reports)
    assert not first.from_cache and first.parameters == {"district": "PK602"}
    ((panel, result),) = first.panels
    assert result.ok, result.reason
    direct = Gateway(cubes_store, events=MemorySink()).run_query(
        make_actor("public"),
        {"cube": "persons", "measures": ["widows"], "geography": {"level": "tehsil", "within": "PK602"}},
    )
    assert result.rows == direct.rows and len(result.rows) > 1
    again = publication.render("widows-by-tehsil", {"district": "PK602"}, reports)
    assert again.from_cache and again.panels[0][1].rows == result.rows


def test_an_approved_report_reaches_union_councils_where_the_public_cannot(published, cubes_store):
    reports = published("disability-by-union-council")
    query = {
        "cube": "disability",
        "measures": ["persons_with_disability"],
        "geography": {"level": "union_council", "within": "PK601T01"},
    }
    plain = Gateway(cubes_store, events=MemorySink()).run_query(make_actor("public"), query)
    assert not plain.ok and "too detailed" in plain.reason
    shown = publication.render("disability-by-union-council", None, reports).panels[0][1]
    assert shown.ok, shown.reason
    assert {r["uc_code"][:8] for r in shown.rows} == {"PK601T01"}
    # the small warehouse's union councils are all below the household floor: every one is hidden
    assert all(r["persons_with_disability"] is None for r in shown.rows)


def test_only_the_published_version_is_rendered_and_bad_parameters_are_named(published):
    reports = published("widows-by-tehsil")
    with pytest.raises(ValueError, match="District: 'PK999' is not one of the areas"):
        publication.render("widows-by-tehsil", {"district": "PK999"}, reports)
    reports.retire(published.accounts.get("sana"), "widows-by-tehsil")
    with pytest.raises(ReportNotFound):
        publication.render("widows-by-tehsil", None, reports)
    with pytest.raises(ReportNotFound):
        publication.render("no-such-report", None, reports)


def test_precompute_covers_every_parameter_value(published):
    reports = published("cct-enrolment-by-district")
    assert publication.precompute("cct-enrolment-by-district", reports) == 7  # one per province
    assert publication.render("cct-enrolment-by-district", {"province": "PK2"}, reports).from_cache
