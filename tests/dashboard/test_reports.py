"""Reports: designs validated as data, the approval workflow with the four-eyes rule, versions, history."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from dashboard.accounts import Accounts
from dashboard.audit import AccessLog
from dashboard.reports import (
    DesignError,
    ReportNotFound,
    Reports,
    WorkflowError,
    validate_design,
)
from tests.dashboard.conftest import AUDIT_KEY

PASSWORD = "correct horse battery"
DESIGNS = Path(__file__).resolve().parents[2] / "dashboard" / "report_designs"


def design(**changes) -> dict:
    d = json.loads((DESIGNS / "widows-by-tehsil.json").read_text())
    d.update(changes)
    return d


@pytest.fixture()
def people(store_engine):
    log = AccessLog(store_engine, key=AUDIT_KEY)
    acc = Accounts(store_engine, log)
    acc.add_organisation("BISP NSER MIS Wing", "bisp")
    acc.add_organisation("Planning Commission", "federal_government")
    acc.add_user("sana", "Sana Mirza", "BISP NSER MIS Wing", PASSWORD, tier="mis", duties=["dg_nser"])
    acc.add_user("dg", "Director General", "BISP NSER MIS Wing", PASSWORD, tier="mis", duties=["dg_nser"])
    acc.add_user("omar", "Omar (MIS, no duty)", "BISP NSER MIS Wing", PASSWORD, tier="mis")
    acc.add_user("amina", "Amina Khan", "Planning Commission", PASSWORD)
    return {u: acc.get(u) for u in ("sana", "dg", "omar", "amina")}, Reports(store_engine, log), log


def test_the_starter_designs_are_valid():
    files = sorted(DESIGNS.glob("*.json"))
    assert len(files) == 5
    for f in files:
        d = validate_design(json.loads(f.read_text()))
        assert d["slug"] == f.stem


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"slug": "Bad Slug"}, "slug"),
        ({"audience": "everyone"}, "audience"),
        ({"colour": "red"}, "unknown field"),
        ({"panels": []}, "between 1 and 12 panels"),
        ({"title": " "}, "title"),
    ],
)
def test_a_bad_design_is_refused_naming_the_field(change, message):
    with pytest.raises(DesignError, match=message):
        validate_design(design(**change))


def test_a_design_may_carry_urdu_texts_but_not_empty_ones():
    d = design(title_ur="تحصیل وار بیوہ خواتین", description_ur="بیوہ خواتین۔", topic_ur="خواتین")
    d["panels"][0].update(title_ur="تحصیل وار بیوہ خواتین", note="A note.", note_ur="ایک نوٹ۔")
    assert validate_design(d)["title_ur"] == "تحصیل وار بیوہ خواتین"
    with pytest.raises(DesignError, match="report title_ur"):
        validate_design(design(title_ur=" "))
    with pytest.raises(DesignError, match="report topic_ur"):
        validate_design(design(topic_ur=7))
    d = design()
    d["panels"][0]["title_ur"] = ""
    with pytest.raises(DesignError, match="panel 1 title_ur"):
        validate_design(d)
    with pytest.raises(DesignError, match="unknown field"):
        validate_design(design(slug_ur="بیوہ"))


def test_a_bad_panel_or_parameter_is_refused_naming_it():
    d = design()
    d["panels"][0]["visual"] = "pie"
    with pytest.raises(DesignError, match="panel 1 visual"):
        validate_design(d)
    d = design()
    d["panels"][0]["query"]["measures"] = ["nonsense"]
    with pytest.raises(DesignError, match="panel 1 query"):
        validate_design(d)
    d = design()
    d["panels"][0]["query"]["geography"]["within"] = "{tehsil}"
    with pytest.raises(DesignError, match="unknown parameter"):
        validate_design(d)
    d = design()
    d["parameters"][0]["default"] = "PK999"
    with pytest.raises(DesignError, match="parameter 1 default"):
        validate_design(d)


def test_designer_submits_dg_approves_and_it_is_published_with_history(people):
    users, reports, log = people
    v1 = reports.save_draft(users["sana"], design())
    assert (v1.version, v1.state, v1.designer) == (1, "draft", "sana")
    assert reports.published("widows-by-tehsil") is None
    reports.submit(users["sana"], "widows-by-tehsil")
    with pytest.raises(WorkflowError, match="four-eyes"):
        reports.approve(users["sana"], "widows-by-tehsil", 1)  # sana has the duty but designed it
    with pytest.raises(WorkflowError, match="Director General"):
        reports.approve(users["omar"], "widows-by-tehsil", 1)
    with pytest.raises(WorkflowError, match="only the MIS team"):
        reports.save_draft(users["amina"], design())
    published = reports.approve(users["dg"], "widows-by-tehsil", 1, "fine")
    assert (published.state, published.approved_by) == ("published", "dg")
    assert [r.slug for r in reports.catalogue()] == ["widows-by-tehsil"]
    history = [
        (e.action, e.from_state, e.to_state, e.username)
        for e in reports.history(users["sana"], "widows-by-tehsil")
    ]
    assert history == [
        ("create", None, "draft", "sana"),
        ("submit", "draft", "submitted", "sana"),
        ("approve", "submitted", "approved", "dg"),
        ("publish", "approved", "published", "dg"),
    ]
    actions = [r.action for r in log.rows() if r.kind == "report"]
    assert actions == [
        "edit widows-by-tehsil v1",
        "submit widows-by-tehsil v1",
        "approve widows-by-tehsil v1",
    ]
    assert log.verify()[0]


def test_editing_a_published_report_makes_a_new_version_and_the_old_stays_until_approved(people):
    users, reports, _ = people
    reports.save_draft(users["sana"], design())
    reports.submit(users["sana"], "widows-by-tehsil")
    reports.approve(users["dg"], "widows-by-tehsil", 1)
    v2 = reports.save_draft(users["sana"], design(title="Widows by tehsil (revised)"))
    assert (v2.version, v2.state) == (2, "draft")
    assert reports.published("widows-by-tehsil").version == 1
    reports.submit(users["sana"], "widows-by-tehsil")
    with pytest.raises(WorkflowError, match="waiting for approval"):
        reports.save_draft(users["sana"], design(title="again"))
    with pytest.raises(WorkflowError, match="needs a comment"):
        reports.reject(users["dg"], "widows-by-tehsil", 2, " ")
    rejected = reports.reject(users["dg"], "widows-by-tehsil", 2, "say which census")
    assert rejected.state == "rejected" and reports.published("widows-by-tehsil").version == 1
    reports.save_draft(users["sana"], design(title="Widows by tehsil (census 2023)"))  # edits v2 again
    reports.submit(users["sana"], "widows-by-tehsil")
    reports.approve(users["dg"], "widows-by-tehsil", 2)
    states = {v.version: v.state for v in reports.versions(users["sana"], "widows-by-tehsil")}
    assert states == {1: "retired", 2: "published"}
    assert reports.published("widows-by-tehsil").design["title"] == "Widows by tehsil (census 2023)"
    back = reports.rollback(users["sana"], "widows-by-tehsil", 1, "v2 has a typo")
    assert back.state == "published" and reports.published("widows-by-tehsil").version == 1
    assert {v.version: v.state for v in reports.versions(users["sana"], "widows-by-tehsil")} == {
        1: "published",
        2: "retired",
    }
    reports.retire(users["sana"], "widows-by-tehsil")
    assert reports.published("widows-by-tehsil") is None and reports.catalogue() == []


def test_drafts_are_invisible_below_mis(people):
    users, reports, _ = people
    reports.save_draft(users["sana"], design())
    with pytest.raises(WorkflowError):
        reports.versions(users["amina"], "widows-by-tehsil")
    with pytest.raises(WorkflowError):
        reports.history(None, "widows-by-tehsil")
    assert reports.catalogue(("public", "business")) == []
    with pytest.raises(ReportNotFound):
        reports.versions(users["sana"], "no-such-report")


def test_a_version_never_approved_cannot_be_rolled_back_to(people):
    users, reports, _ = people
    reports.save_draft(users["sana"], design())
    reports.submit(users["sana"], "widows-by-tehsil")
    reports.approve(users["dg"], "widows-by-tehsil", 1)
    reports.save_draft(users["sana"], copy.deepcopy(design(title="v2")))
    with pytest.raises(WorkflowError, match="only a retired version"):
        reports.rollback(users["sana"], "widows-by-tehsil", 2)


def test_the_catalogue_filters_by_words_topic_and_geography(people):
    users, reports, _ = people
    for name in ("widows-by-tehsil", "survey-progress"):
        d = json.loads((DESIGNS / f"{name}.json").read_text())
        reports.save_draft(users["sana"], d)
        reports.submit(users["sana"], name)
        reports.approve(users["dg"], name, 1)
    assert [r.slug for r in reports.catalogue(geography="tehsil")] == ["widows-by-tehsil"]
    assert [r.slug for r in reports.catalogue(geography="province")] == ["survey-progress"]
    assert [r.slug for r in reports.catalogue(topic="Survey")] == ["survey-progress"]
    assert [r.slug for r in reports.catalogue(text="WIDOWED district")] == ["widows-by-tehsil"]
    assert reports.catalogue(text="widowed province") == []
    assert reports.catalogue(("business",)) == []  # both are public reports
