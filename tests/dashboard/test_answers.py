"""Answers as tables: the cross-tabulation people read is the one they download."""

from __future__ import annotations

import csv
import io

import openpyxl

from cubes.model import load_model
from dashboard.answers import dimension_header, tabulate, to_csv, to_xlsx
from tests.conftest import make_actor


def _persons_by_gender(gateway, totals=False, measures=("persons",)):
    query = {
        "cube": "persons",
        "measures": list(measures),
        "dimensions": ["gender", "age_group"],
        "geography": {"level": "district", "within": "PK6"},
        "totals": totals,
    }
    result = gateway.run_query(make_actor("business"), query)
    assert result.ok, result.reason
    return result


def test_long_table_has_one_row_per_cell_with_labels(gateway):
    result = _persons_by_gender(gateway)
    table = tabulate(result)
    assert table.headers[:4] == [
        "District code",
        "District",
        dimension_header("gender"),
        dimension_header("age_group"),
    ]
    assert table.kinds == ["code", "name", "category", "category", "value"]
    assert len(table.rows) == len(result.rows)
    labels = {r[2] for r in table.rows}
    assert labels <= {"Female", "Male", "Transgender"}


def test_across_spreads_one_dimension_over_the_columns_without_changing_a_value(gateway):
    result = _persons_by_gender(gateway, totals=True)
    long = {(r["district_code"], r["gender"], r["age_group"]): r["persons"] for r in result.rows}
    table = tabulate(result, across="gender")
    model = load_model()
    genders = [m.label for m in model.dimensions["gender"].members]
    assert table.headers[-4:] == [*genders, "Total"]  # the classification's order, the total last
    ages = [r[2] for r in table.rows if r[0] == "PK601"]
    assert ages == [m.label for m in model.dimensions["age_group"].members] + ["Total"]
    codes = {m.label: m.code for m in model.dimensions["gender"].members} | {"Total": "_total"}
    age_code = {m.label: m.code for m in model.dimensions["age_group"].members} | {"Total": "_total"}
    seen = 0
    for row in table.rows:
        for header, value in zip(table.headers[3:], row[3:], strict=True):
            assert value == long[row[0], codes[header], age_code[row[2]]]
            seen += 1
    assert seen == len(long)


def test_several_measures_across_name_measure_and_member(gateway):
    result = _persons_by_gender(gateway, measures=("persons", "literacy_rate"))
    table = tabulate(result, across="gender")
    assert "Number of household members (persons): Female" in table.headers
    assert any(h.endswith("(percent): Male") for h in table.headers)


def test_csv_and_xlsx_hold_exactly_the_table(gateway):
    result = _persons_by_gender(gateway)
    table = tabulate(result, across="age_group")
    text = to_csv(result, across="age_group")
    lines = text.splitlines()
    assert lines[0].startswith("# NSER Insight, registry as of") and result.snapshot_id in lines[0]
    assert any("suppressed" in ln for ln in lines if ln.startswith("#"))
    rows = list(csv.reader(io.StringIO("\n".join(ln for ln in lines if not ln.startswith("#")))))
    assert rows[0] == table.headers
    as_text = [["" if v is None else str(v) for v in r] for r in table.rows]
    assert rows[1:] == as_text
    book = openpyxl.load_workbook(io.BytesIO(to_xlsx(result, across="age_group")))
    sheet = list(book["data"].iter_rows(values_only=True))
    assert list(sheet[0]) == table.headers
    assert [list(r) for r in sheet[1:]] == table.rows
    assert result.snapshot_id in str(list(book["about"].iter_rows(values_only=True)))
