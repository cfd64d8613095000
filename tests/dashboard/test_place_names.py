"""Urdu place names: the reference names, the English fallback, and MIS corrections kept and logged
(SQLite and PostgreSQL)."""

from __future__ import annotations

import flask
import pytest

from dashboard import place_names, store
from dashboard.accounts import Principal
from dashboard.audit import AccessLog

MIS = Principal(1, "sana", "Sana", 1, "BISP", "bisp", "government", None, "mis", "power", (), None)
PLANNER = Principal(
    2, "usman", "Usman", 2, "P&D", "provincial_government", "government", None, "business", "none", (), None
)


@pytest.fixture()
def urdu(store_url, monkeypatch):
    monkeypatch.setenv("NSER_DATABASE_URL", store_url)
    place_names.forget_cache()
    app = flask.Flask("names")
    with app.test_request_context("/?lang=ur"):
        yield store.engine()
    place_names.forget_cache()


def test_urdu_names_with_a_visible_english_fallback(urdu):
    assert place_names.text("PK6", "Punjab") == "پنجاب"
    assert place_names.text("PK", "Pakistan") == "پاکستان"  # the gateway's national row
    code, english = place_names.missing()[0]
    assert place_names.text(code, english) == english
    shown = place_names.component(code, english)
    assert shown.children == english and shown.lang == "en" and "name-en-fallback" in shown.className


def test_mis_corrects_a_name_and_every_correction_is_kept_and_logged(urdu):
    code, english = place_names.missing()[0]
    before = len(place_names.missing())
    done = place_names.correct(MIS, code, "  نیا   نام ", "Gazette notification 2026", engine=urdu)
    assert done == {"code": code, "english": english, "previous": None, "name_ur": "نیا نام"}
    assert place_names.text(code, english) == "نیا نام" and len(place_names.missing()) == before - 1
    place_names.correct(MIS, code, "درست نام", "spelling", engine=urdu)
    assert place_names.text(code, english) == "درست نام"
    assert [c.name_ur for c in place_names.history(urdu, code)] == ["درست نام", "نیا نام"]
    assert place_names.history(urdu, code)[0].previous == "نیا نام"
    logged = [e for e in AccessLog(urdu).rows() if e.action == "place_name.correct"]
    assert len(logged) == 2 and logged[0].username == "sana" and "نیا نام" in logged[0].parameters


@pytest.mark.parametrize(
    ("who", "code", "name", "reason", "message"),
    [
        (PLANNER, "PK601", "اٹک", "x", "only the BISP MIS team"),
        (MIS, "PK999", "اٹک", "x", "PK999 is not a province, division, district or tehsil code"),
        (MIS, "PK601", "Attock", "x", "in Urdu script"),
        (MIS, "PK601", "اٹک", " ", "Reason"),
    ],
)
def test_a_correction_that_cannot_be_made_says_why(urdu, who, code, name, reason, message):
    with pytest.raises(place_names.PlaceNameError, match=message):
        place_names.correct(who, code, name, reason, engine=urdu)
