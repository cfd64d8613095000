"""The explorer's URL state: parse ⇄ serialize, defaults for bad input, and the gateway query it asks."""

from __future__ import annotations

import pytest

from dashboard import explorer_state as es


def test_round_trip_keeps_every_part_of_the_state():
    search = (
        "?cube=persons&m=persons,literacy_rate&d=gender,age_group&level=tehsil&area=PK601&chart=stacked"
        "&totals=1&f=gender:female&cols=gender"
    )
    state = es.parse(search)
    assert state == es.State(
        cube="persons",
        measures=["persons", "literacy_rate"],
        dims=["gender", "age_group"],
        level="tehsil",
        area="PK601",
        chart="stacked",
        totals=True,
        filters=["gender:female"],
        across="gender",
    )
    assert es.parse(es.serialize(state)) == state


def test_the_last_breakdown_goes_across_unless_the_url_says_otherwise():
    assert es.parse("?cube=persons&d=gender,age_group").across == "age_group"
    assert es.parse("?cube=persons&d=gender,age_group&cols=none").across is None
    assert es.parse("?cube=persons&d=gender&cols=pmt_band").across == "gender"  # not a chosen breakdown
    assert es.parse("?cube=persons").across is None
    assert "cols" not in es.serialize(es.parse("?cube=persons&d=gender"))


@pytest.mark.parametrize(
    ("search", "expected"),
    [
        ("?cube=nonsense", es.State()),
        ("?cube=households&m=no_such_measure", es.State()),
        ("?cube=households&level=street", es.State()),
        ("?cube=households&area=PK999", es.State()),
        ("?cube=households&chart=pie", es.State()),
        ("?cube=households&d=gender", es.State()),  # gender is not a households dimension
        ("", es.State()),
        (None, es.State()),
    ],
)
def test_bad_parts_fall_back_to_defaults(search, expected):
    assert es.parse(search) == expected


def test_the_area_narrows_the_geography_or_is_explained():
    query, problem = es.to_query(es.parse("?cube=beneficiaries&level=tehsil&area=PK601"))
    assert problem is None and query["geography"] == {"level": "tehsil", "within": "PK601"}
    same, _ = es.to_query(es.parse("?cube=beneficiaries&level=district&area=PK601"))
    assert same["geography"] == {"level": "district", "codes": ["PK601"]}
    none, problem = es.to_query(es.parse("?cube=beneficiaries&level=province&area=PK601"))
    assert none is None and "choose a finer level" in problem


def test_filters_and_totals_reach_the_query():
    query, _ = es.to_query(es.parse("?cube=persons&d=gender,age_group&f=gender:female,gender:male&totals=1"))
    assert query["filters"] == {"gender": ["female", "male"]} and query["totals"] is True
