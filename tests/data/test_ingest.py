"""Ingest of real extracts: good CSV and Parquet files become a snapshot equal to their source; any
bad file rejects the whole load, names file, line and column, and leaves the current snapshot alone.

The extracts are exported from a small synthetic snapshot (built once per session), so a clean ingest
must reproduce every derived column of the generator, and each bad file differs from a good one in
one known place.
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest
from click.testing import CliRunner

from dashboard.cli import main
from data import geography
from data.catalogue import load_catalogue
from data.ingest import IngestError, ingest_extract
from data.snapshots import Snapshot, SnapshotStore
from data.warehouse import build_synthetic, open_for_build

HOUSEHOLDS = 2000
SEED = 4242
TABLES = ("households", "members", "schools", "cct_enrolments", "payments")
OPTIONAL = {"schools": "schools_path", "cct_enrolments": "cct_path", "payments": "payments_path"}
KEYS = ("record_key", "household_record_key")


@dataclass(frozen=True)
class Extract:
    """Good extract files next to the synthetic snapshot they were exported from."""

    root: Path
    store: SnapshotStore  # its current snapshot is the synthetic one; rejected loads must not change it
    synthetic: Snapshot

    def path(self, table: str, fmt: str = "csv") -> Path:
        return self.root / f"{table}.{fmt}"

    def rows(self, table: str) -> tuple[list[str], list[list[str]]]:
        """Header and rows of the good CSV file."""
        with open(self.path(table), newline="", encoding="utf-8") as fh:
            header, *rows = list(csv.reader(fh))
        return header, rows


@pytest.fixture(scope="session")
def extract(tmp_path_factory: pytest.TempPathFactory) -> Extract:
    root = tmp_path_factory.mktemp("extract")
    store = SnapshotStore(root / "nser")
    snap = build_synthetic(HOUSEHOLDS, SEED, store=store)
    cat = load_catalogue()
    con = duckdb.connect(str(snap.path), read_only=True)
    try:
        for table in TABLES:
            cols = ", ".join(c.name for c in cat.table(table).extract_columns())
            con.execute(f"COPY (SELECT {cols} FROM {table}) TO '{root / table}.csv' (HEADER)")
            con.execute(f"COPY (SELECT {cols} FROM {table}) TO '{root / table}.parquet' (FORMAT parquet)")
    finally:
        con.close()
    return Extract(root, store, snap)


# -- helpers ---------------------------------------------------------------------------------------------------


def sha256(path: Path) -> str:
    """Content hash, to prove a file was not touched."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def write_rows(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    """Write a CSV the way an export tool would: UTF-8, comma-separated, quoted only where needed."""
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(header)
        writer.writerows(rows)
    return path


def find(header: list[str], rows: list[list[str]], **where: Callable[[str], bool] | str) -> int:
    """Index of the first row whose columns satisfy ``where`` (a value or a predicate)."""
    for i, row in enumerate(rows):
        if all(
            w(row[header.index(c)]) if callable(w) else row[header.index(c)] == w for c, w in where.items()
        ):
            return i
    raise AssertionError(f"no row with {where}")


def line(i: int) -> int:
    """CSV line of data row i (0-based): the header is line 1."""
    return i + 2


def edited(ex: Extract, tmp: Path, table: str, edit: Callable[[list[str], list[list[str]]], None]) -> Path:
    """A copy of the good CSV of ``table`` with ``edit`` applied to its header and rows."""
    header, rows = ex.rows(table)
    edit(header, rows)
    return write_rows(tmp / f"{table}.csv", header, rows)


def setter(column: str, value: str, at: int) -> Callable[[list[str], list[list[str]]], None]:
    """An edit that puts ``value`` in ``column`` of data row ``at``."""

    def edit(header: list[str], rows: list[list[str]]) -> None:
        rows[at][header.index(column)] = value

    return edit


def ingest_files(ex: Extract, store: SnapshotStore | None = None, **files: Path) -> Snapshot:
    """Ingest the good CSV files except those given by table name (households=..., payments=...)."""
    households = files.pop("households", ex.path("households"))
    members = files.pop("members", ex.path("members"))
    kwargs = {OPTIONAL[t]: p for t, p in files.items()}
    return ingest_extract(households, members, store=store or ex.store, **kwargs)


def store_state(store: SnapshotStore) -> tuple[str | None, str, str, list[str]]:
    """Current id, hashes of its file and manifest, and the folder listing: what a rejection must keep."""
    current = store.current()
    assert current is not None
    files = sorted(p.name for p in store.root.iterdir())
    return store.current_id(), sha256(current.path), sha256(current.path.with_suffix(".json")), files


def assert_rejected(ex: Extract, *expected: str, **files: Path) -> IngestError:
    """Ingest must fail naming every ``expected`` text, and leave the store exactly as it was."""
    before = store_state(ex.store)
    with pytest.raises(IngestError) as info:
        ingest_files(ex, **files)
    report = info.value.report()
    for text in expected:
        assert text in report, f"{text!r} not in report:\n{report}"
    assert store_state(ex.store) == before
    assert list((ex.store.root / ".staging").iterdir()) == []
    return info.value


def table_diff(con: duckdb.DuckDBPyConnection, table: str, skip: tuple[str, ...] = KEYS) -> int:
    """Rows of ``table`` that differ between the attached snapshots ``a`` and ``b`` (both directions)."""
    cols = ", ".join(c for c in load_catalogue().table(table).columns if c not in skip)
    return sum(
        con.execute(
            f"SELECT count(*) FROM (SELECT {cols} FROM {x}.{table} EXCEPT ALL SELECT {cols} FROM {y}.{table})"
        ).fetchone()[0]
        for x, y in (("a", "b"), ("b", "a"))
    )


def attach(a: Path, b: Path) -> duckdb.DuckDBPyConnection:
    """A connection with snapshot ``a`` (usually the synthetic source) and ``b`` (the ingested one)."""
    con = duckdb.connect()
    con.execute(f"ATTACH '{a}' AS a (READ_ONLY)")
    con.execute(f"ATTACH '{b}' AS b (READ_ONLY)")
    return con


# -- clean ingests -----------------------------------------------------------------------------------------------


def test_csv_extract_reproduces_the_synthetic_snapshot(extract: Extract, tmp_path: Path) -> None:
    store = SnapshotStore(tmp_path / "nser")
    snap = ingest_files(extract, store=store)
    assert store.current_id() == snap.snapshot_id
    assert not list((store.root / ".staging").iterdir())
    m = snap.manifest
    assert m["kind"] == "ingest"
    assert (m["households"], m["members"]) == (
        extract.synthetic.manifest["households"],
        extract.synthetic.manifest["members"],
    )
    assert {s["table"]: (s["sha256"], s["rows"]) for s in m["sources"]} == {
        "households": (sha256(extract.path("households")), HOUSEHOLDS),
        "members": (sha256(extract.path("members")), m["members"]),
    }
    for key in (
        "as_of",
        "created_at",
        "tables",
        "duration_s",
        "peak_rss_mb",
        "builder_version",
        "duckdb_version",
    ):
        assert key in m
    assert m["tables"]["schools"] == m["tables"]["cct_enrolments"] == m["tables"]["payments"] == 0
    con = attach(extract.synthetic.path, snap.path)
    try:
        for table in load_catalogue().tables:
            assert (
                con.execute(f"DESCRIBE a.{table}").fetchall() == con.execute(f"DESCRIBE b.{table}").fetchall()
            )
        # Without a Taleemi Wazaif file nobody is a CCT child; everything else is derived identically.
        assert table_diff(con, "households", KEYS + ("cct_children",)) == 0
        assert table_diff(con, "members", KEYS + ("is_cct_child",)) == 0
        for query in (
            "SELECT count(*) FILTER (WHERE is_beneficiary), count(*) FILTER (WHERE is_beneficiary_household) FROM {}.members",
            "SELECT pmt_band, count(*) FROM {}.households GROUP BY ALL ORDER BY ALL",
        ):
            assert con.execute(query.format("a")).fetchall() == con.execute(query.format("b")).fetchall()
        assert con.execute("SELECT count(*) FILTER (WHERE is_beneficiary) FROM b.members").fetchone()[0] > 0
        assert con.execute("SELECT sum(cct_children) FROM b.households").fetchone()[0] == 0
        assert con.execute("SELECT count(*) FILTER (WHERE is_cct_child) FROM b.members").fetchone()[0] == 0
    finally:
        con.close()


def test_parquet_extract_with_programme_files(extract: Extract, tmp_path: Path) -> None:
    store = SnapshotStore(tmp_path / "nser")
    snap = ingest_files(extract, store=store, **{t: extract.path(t, "parquet") for t in TABLES})
    assert store.current_id() == snap.snapshot_id
    assert snap.manifest["tables"] == {
        **extract.synthetic.manifest["tables"],
        "geo_units": snap.manifest["tables"]["geo_units"],
    }
    con = attach(extract.synthetic.path, snap.path)
    try:
        for table in TABLES:
            assert table_diff(con, table) == 0, table
        # Reference units are the synthetic ones; union councils are those of the extract, with the
        # gazetteer's names, parents and urban/rural (their point is the centre of their households).
        units = "SELECT level, code, name, name_ur, parent_code, province_code, district_code, urban_rural FROM {}"
        ingested = con.execute(units.format("b.geo_units") + " ORDER BY ALL").fetchall()
        expected = con.execute(
            units.format("a.geo_units")
            + " WHERE level <> 'union_council' OR code IN (SELECT uc_code FROM a.households) ORDER BY ALL"
        ).fetchall()
        assert ingested == expected
    finally:
        con.close()


def test_ingested_tables_are_sorted_and_keyed(extract: Extract, tmp_path: Path) -> None:
    store = SnapshotStore(tmp_path / "nser")
    first = ingest_files(extract, store=store)
    second = ingest_files(extract, store=store)
    assert store.current_id() == second.snapshot_id
    con = attach(first.path, second.path)
    try:
        geo = "province_code, division_code, district_code, tehsil_code, uc_code, village_code, household_id"
        stored = con.execute("SELECT household_id FROM b.households").fetchall()
        assert stored == con.execute(f"SELECT household_id FROM b.households ORDER BY {geo}").fetchall()
        members = con.execute("SELECT member_id FROM b.members").fetchall()
        assert (
            members
            == con.execute(
                "SELECT m.member_id FROM b.members m JOIN (SELECT household_id, row_number() OVER () AS k "
                "FROM b.households) h USING (household_id) ORDER BY h.k, m.line_no"
            ).fetchall()
        )
        # Record keys come from the store's secret: stable between snapshots, spread over 0-255.
        assert table_diff(con, "members", ()) == 0
        assert con.execute("SELECT count(DISTINCT record_key) FROM b.households").fetchone()[0] > 200
        assert (
            con.execute(
                "SELECT count(*) FROM b.members m JOIN b.households h USING (household_id) "
                "WHERE m.household_record_key <> h.record_key"
            ).fetchone()[0]
            == 0
        )
    finally:
        con.close()


def test_windows_line_endings_and_byte_order_mark_are_accepted(extract: Extract, tmp_path: Path) -> None:
    for table in ("households", "members"):
        data = extract.path(table).read_bytes().replace(b"\n", b"\r\n")
        (tmp_path / f"{table}.csv").write_bytes(b"\xef\xbb\xbf" + data)
    store = SnapshotStore(tmp_path / "nser")
    snap = ingest_files(
        extract, store=store, households=tmp_path / "households.csv", members=tmp_path / "members.csv"
    )
    assert snap.manifest["members"] == extract.synthetic.manifest["members"]


# -- the rejection corpus ----------------------------------------------------------------------------------------

# A case writes one bad file (or names one that cannot be read) and returns the files to use instead of
# the good ones, by table, and texts the report must contain.
Case = Callable[[Extract, Path], tuple[dict[str, Path], list[str]]]


def case_wrong_type(ex: Extract, tmp: Path) -> tuple[dict[str, Path], list[str]]:
    path = edited(ex, tmp, "households", setter("rooms", "abc", 4))
    return {"households": path}, [
        f"households.csv line {line(4)}, column rooms: 'abc' is not a valid TINYINT"
    ]


def case_unknown_district(ex: Extract, tmp: Path) -> tuple[dict[str, Path], list[str]]:
    path = edited(ex, tmp, "households", setter("district_code", "PK999", 2))
    return {"households": path}, [
        f"households.csv line {line(2)}, column district_code: 'PK999' is not a district code in the reference list"
    ]


def case_tehsil_of_another_district(ex: Extract, tmp: Path) -> tuple[dict[str, Path], list[str]]:
    header, rows = ex.rows("households")
    district = rows[0][header.index("district_code")]
    other = geography.tehsils().query("district_code != @district").iloc[0]
    rows[0][header.index("tehsil_code")] = other.tehsil_code
    path = write_rows(tmp / "households.csv", header, rows)
    return {"households": path}, [
        f"households.csv line 2, column tehsil_code: tehsil {other.tehsil_code} belongs to district "
        f"{other.district_code}, not {district} given in district_code"
    ]


def case_duplicate_cnic(ex: Extract, tmp: Path) -> tuple[dict[str, Path], list[str]]:
    header, rows = ex.rows("members")
    first = find(header, rows, gender="female", relation="spouse", cnic=lambda v: v != "")
    second = (
        find(header, rows[first + 1 :], gender="female", relation="spouse", cnic=lambda v: v != "")
        + first
        + 1
    )
    rows[second][header.index("cnic")] = rows[first][header.index("cnic")]
    path = write_rows(tmp / "members.csv", header, rows)
    return {"members": path}, [
        f"members.csv line {line(second)}, column cnic: duplicate cnic",
        f"lines {line(first)} and {line(second)} both carry it",
    ]


def case_orphan_member(ex: Extract, tmp: Path) -> tuple[dict[str, Path], list[str]]:
    header, rows = ex.rows("members")
    i = find(header, rows, relation=lambda v: v != "head")
    rows[i][header.index("household_id")] = "99999999"
    path = write_rows(tmp / "members.csv", header, rows)
    return {"members": path}, [
        f"members.csv line {line(i)}, column household_id: household_id '99999999' is not in households.csv"
    ]


def case_household_without_head(ex: Extract, tmp: Path) -> tuple[dict[str, Path], list[str]]:
    header, rows = ex.rows("members")
    i = find(header, rows, relation="head")
    household = rows[i][header.index("household_id")]
    rows[i][header.index("relation")] = "other_relative"
    path = write_rows(tmp / "members.csv", header, rows)
    hh_header, hh_rows = ex.rows("households")
    k = find(hh_header, hh_rows, household_id=household)
    return {"members": path}, [
        f"households.csv line {line(k)}, column household_id: household {household} has no member with "
        "relation 'head' in members.csv"
    ]


def case_two_heads(ex: Extract, tmp: Path) -> tuple[dict[str, Path], list[str]]:
    header, rows = ex.rows("members")
    i = find(header, rows, relation="spouse")
    household = rows[i][header.index("household_id")]
    head = find(header, rows, relation="head", household_id=household)
    rows[i][header.index("relation")] = "head"
    path = write_rows(tmp / "members.csv", header, rows)
    hh_header, hh_rows = ex.rows("households")
    k = find(hh_header, hh_rows, household_id=household)
    return {"members": path}, [
        f"households.csv line {line(k)}, column household_id: household {household} has 2 members with relation "
        f"'head' (members.csv lines {line(min(head, i))}, {line(max(head, i))})"
    ]


def case_household_without_members(ex: Extract, tmp: Path) -> tuple[dict[str, Path], list[str]]:
    hh_header, hh_rows = ex.rows("households")
    household = hh_rows[8][0]
    path = edited(
        ex,
        tmp,
        "members",
        lambda header, rows: rows.__setitem__(slice(None), [r for r in rows if r[1] != household]),
    )
    return {"members": path}, [
        f"households.csv line {line(8)}, column household_id: household {household} has no members in members.csv"
    ]


def case_head_without_cnic(ex: Extract, tmp: Path) -> tuple[dict[str, Path], list[str]]:
    header, rows = ex.rows("members")
    i = find(header, rows, relation="head")
    rows[i][header.index("cnic")] = ""
    path = write_rows(tmp / "members.csv", header, rows)
    return {"members": path}, [
        f"members.csv line {line(i)}, column cnic: the head of household {rows[i][1]} has no CNIC"
    ]


def case_roster_line_used_twice(ex: Extract, tmp: Path) -> tuple[dict[str, Path], list[str]]:
    header, rows = ex.rows("members")
    i = find(header, rows, line_no="2")
    household = rows[i][header.index("household_id")]
    head = find(header, rows, line_no="1", household_id=household)
    rows[i][header.index("line_no")] = "1"
    path = write_rows(tmp / "members.csv", header, rows)
    first, second = sorted((i, head))
    return {"members": path}, [
        f"members.csv line {line(second)}, column line_no: line_no 1 of household {household} is already used on "
        f"line {line(first)}"
    ]


def case_empty_file(ex: Extract, tmp: Path) -> tuple[dict[str, Path], list[str]]:
    path = tmp / "members.csv"
    path.write_bytes(b"")
    return {"members": path}, ["members.csv: the file is empty (0 bytes)"]


def case_header_only(ex: Extract, tmp: Path) -> tuple[dict[str, Path], list[str]]:
    path = edited(ex, tmp, "households", lambda header, rows: rows.clear())
    return {"households": path}, ["households.csv: the file has a header but no data rows"]


def case_truncated_file(ex: Extract, tmp: Path) -> tuple[dict[str, Path], list[str]]:
    data = ex.path("members").read_bytes().rstrip(b"\n")
    last = data.rsplit(b"\n", 1)[1]
    path = tmp / "members.csv"
    path.write_bytes(data[: len(data) - len(last) // 2])
    n = data.count(b"\n") + 1
    return {"members": path}, [f"members.csv line {n}: the row has", "of 20 fields (truncated"]


def case_latin1_bytes(ex: Extract, tmp: Path) -> tuple[dict[str, Path], list[str]]:
    header, rows = ex.rows("members")
    rows[6][header.index("name")] = "Zoë Khan"
    text = io.StringIO()
    csv.writer(text, lineterminator="\n").writerows([header, *rows])
    path = tmp / "members.csv"
    path.write_bytes(text.getvalue().encode("latin-1"))
    return {"members": path}, [f"members.csv line {line(6)}: not valid UTF-8 (first invalid byte 0xEB)"]


def case_extra_column(ex: Extract, tmp: Path) -> tuple[dict[str, Path], list[str]]:
    def edit(header: list[str], rows: list[list[str]]) -> None:
        header.append("notes")
        for row in rows:
            row.append("x")

    path = edited(ex, tmp, "households", edit)
    return {"households": path}, ["households.csv: extra column(s) not in the catalogue: notes"]


def case_missing_column(ex: Extract, tmp: Path) -> tuple[dict[str, Path], list[str]]:
    def edit(header: list[str], rows: list[list[str]]) -> None:
        k = header.index("rooms")
        for row in [header, *rows]:
            del row[k]

    path = edited(ex, tmp, "households", edit)
    return {"households": path}, ["households.csv: missing column(s): rooms"]


def case_record_key_column(ex: Extract, tmp: Path) -> tuple[dict[str, Path], list[str]]:
    def edit(header: list[str], rows: list[list[str]]) -> None:
        header.append("record_key")
        for row in rows:
            row.append("17")

    path = edited(ex, tmp, "members", edit)
    return {"members": path}, ["members.csv, column record_key: record_key is generated by the warehouse"]


def case_cnic_parity(ex: Extract, tmp: Path) -> tuple[dict[str, Path], list[str]]:
    header, rows = ex.rows("members")
    i = find(header, rows, gender="male", cnic=lambda v: v != "")
    cnic = rows[i][header.index("cnic")]
    rows[i][header.index("cnic")] = cnic[:-1] + str((int(cnic[-1]) + 1) % 10)
    path = write_rows(tmp / "members.csv", header, rows)
    return {"members": path}, [
        f"members.csv line {line(i)}, column cnic: the number ends in {(int(cnic[-1]) + 1) % 10} (even) but "
        "gender is male"
    ]


def case_value_outside_code_list(ex: Extract, tmp: Path) -> tuple[dict[str, Path], list[str]]:
    path = edited(ex, tmp, "households", setter("dwelling_structure", "brick", 7))
    return {"households": path}, [
        f"households.csv line {line(7)}, column dwelling_structure: 'brick' is not in code list "
        "dwelling_structure (allowed: kacha, semi_pakka, pakka)"
    ]


def case_out_of_range(ex: Extract, tmp: Path) -> tuple[dict[str, Path], list[str]]:
    path = edited(ex, tmp, "households", setter("rooms", "300", 3))  # beyond TINYINT too
    return {"households": path}, [
        f"households.csv line {line(3)}, column rooms: '300' is outside the allowed range 1 to 30"
    ]


def case_bad_date(ex: Extract, tmp: Path) -> tuple[dict[str, Path], list[str]]:
    path = edited(ex, tmp, "members", setter("date_of_birth", "2020-02-30", 5))
    return {"members": path}, [
        f"members.csv line {line(5)}, column date_of_birth: '2020-02-30' is not a valid DATE (a date as YYYY-MM-DD)"
    ]


def case_required_value_empty(ex: Extract, tmp: Path) -> tuple[dict[str, Path], list[str]]:
    path = edited(ex, tmp, "members", setter("gender", "", 9))
    return {"members": path}, [f"members.csv line {line(9)}, column gender: required value is empty"]


def case_bad_pattern(ex: Extract, tmp: Path) -> tuple[dict[str, Path], list[str]]:
    path = edited(ex, tmp, "households", setter("uc_code", "PK101-U1", 1))
    return {"households": path}, [
        f"households.csv line {line(1)}, column uc_code: 'PK101-U1' does not match the pattern"
    ]


def case_duplicate_household_id(ex: Extract, tmp: Path) -> tuple[dict[str, Path], list[str]]:
    path = edited(ex, tmp, "households", lambda header, rows: rows.insert(10, list(rows[3])))
    household = ex.rows("households")[1][3][0]
    return {"households": path}, [
        f"households.csv line {line(10)}, column household_id: duplicate household_id '{household}': "
        f"lines {line(3)} and {line(10)} both carry it"
    ]


def case_union_council_of_another_tehsil(ex: Extract, tmp: Path) -> tuple[dict[str, Path], list[str]]:
    header, rows = ex.rows("households")
    tehsil, uc = header.index("tehsil_code"), header.index("uc_code")
    j = next(j for j, row in enumerate(rows) if row[tehsil] != rows[5][tehsil])
    rows[5][uc] = rows[j][uc]
    path = write_rows(tmp / "households.csv", header, rows)
    return {"households": path}, [
        f"households.csv line {line(5)}, column uc_code: uc_code {rows[j][uc]!r} does not start with its "
        f"tehsil_code {rows[5][tehsil]!r}"
    ]


def case_union_council_with_two_names(ex: Extract, tmp: Path) -> tuple[dict[str, Path], list[str]]:
    header, rows = ex.rows("households")
    tehsil, uc, village, name = (
        header.index(c) for c in ("tehsil_code", "uc_code", "village_code", "uc_name")
    )
    i, j = next(
        (i, j)
        for i in range(len(rows))
        for j in range(i + 1, len(rows))
        if rows[i][tehsil] == rows[j][tehsil]
    )
    rows[j][uc], rows[j][village] = rows[i][uc], rows[i][village]
    path = write_rows(tmp / "households.csv", header, rows)
    return {"households": path}, [
        f"households.csv line {line(j)}, column uc_name: union council {rows[i][uc]} is named {rows[j][name]!r} "
        f"here but {rows[i][name]!r} on line {line(i)}"
    ]


def case_blank_line_inside(ex: Extract, tmp: Path) -> tuple[dict[str, Path], list[str]]:
    lines = ex.path("households").read_bytes().split(b"\n")
    path = tmp / "households.csv"
    path.write_bytes(b"\n".join([*lines[:12], b"", *lines[12:]]))
    return {"households": path}, ["households.csv line 13: blank line inside the data"]


def case_row_with_too_many_fields(ex: Extract, tmp: Path) -> tuple[dict[str, Path], list[str]]:
    lines = ex.path("members").read_bytes().split(b"\n")
    lines[8] += b",extra"
    path = tmp / "members.csv"
    path.write_bytes(b"\n".join(lines))
    return {"members": path}, ["members.csv line 9: the row has 21 fields, the header 20"]


def case_stray_carriage_return(ex: Extract, tmp: Path) -> tuple[dict[str, Path], list[str]]:
    lines = ex.path("members").read_bytes().split(b"\n")
    lines[20] = lines[20].replace(b",", b"\r,", 1)
    path = tmp / "members.csv"
    path.write_bytes(b"\n".join(lines))
    return {"members": path}, ["members.csv line 21: cannot be read as CSV: a carriage return"]


def case_missing_file(ex: Extract, tmp: Path) -> tuple[dict[str, Path], list[str]]:
    return {"members": tmp / "nowhere.csv"}, ["nowhere.csv: file not found"]


def case_directory_instead_of_file(ex: Extract, tmp: Path) -> tuple[dict[str, Path], list[str]]:
    path = tmp / "members.csv"
    path.mkdir()
    return {"members": path}, [f"members.csv: {path} is not a file"]


def case_unsupported_extension(ex: Extract, tmp: Path) -> tuple[dict[str, Path], list[str]]:
    path = tmp / "households.xlsx"
    path.write_bytes(ex.path("households").read_bytes())
    return {"households": path}, ["households.xlsx: unsupported file type '.xlsx': use .csv or .parquet"]


def case_cct_without_schools(ex: Extract, tmp: Path) -> tuple[dict[str, Path], list[str]]:
    return {"cct_enrolments": ex.path("cct_enrolments")}, [
        "cct_enrolments.csv, column school_id: school_id references schools.school_id: supply the schools file too"
    ]


def case_payment_of_another_household(ex: Extract, tmp: Path) -> tuple[dict[str, Path], list[str]]:
    header, rows = ex.rows("payments")
    hh_header, hh_rows = ex.rows("households")
    other = next(r[0] for r in hh_rows if r[0] != rows[0][header.index("household_id")])
    member = rows[0][header.index("member_id")]
    rows[0][header.index("household_id")] = other
    path = write_rows(tmp / "payments.csv", header, rows)
    return {"payments": path}, [
        f"payments.csv line 2, column household_id: member {member} belongs to household"
    ]


CASES: list[Case] = [
    case_wrong_type,
    case_unknown_district,
    case_tehsil_of_another_district,
    case_duplicate_cnic,
    case_orphan_member,
    case_household_without_head,
    case_two_heads,
    case_household_without_members,
    case_head_without_cnic,
    case_roster_line_used_twice,
    case_empty_file,
    case_header_only,
    case_truncated_file,
    case_latin1_bytes,
    case_extra_column,
    case_missing_column,
    case_record_key_column,
    case_cnic_parity,
    case_value_outside_code_list,
    case_out_of_range,
    case_bad_date,
    case_required_value_empty,
    case_bad_pattern,
    case_duplicate_household_id,
    case_union_council_of_another_tehsil,
    case_union_council_with_two_names,
    case_blank_line_inside,
    case_row_with_too_many_fields,
    case_stray_carriage_return,
    case_missing_file,
    case_directory_instead_of_file,
    case_unsupported_extension,
    case_cct_without_schools,
    case_payment_of_another_household,
]


@pytest.mark.parametrize("case", CASES, ids=[c.__name__.removeprefix("case_") for c in CASES])
def test_bad_extract_is_rejected_and_nothing_changes(extract: Extract, tmp_path: Path, case: Case) -> None:
    files, expected = case(extract, tmp_path)
    assert_rejected(extract, *expected, **files)


def test_every_problem_is_reported_at_once(extract: Extract, tmp_path: Path) -> None:
    households = edited(extract, tmp_path, "households", setter("district_code", "PK999", 2))
    members = edited(extract, tmp_path, "members", setter("date_of_birth", "1999-13-01", 4))
    err = assert_rejected(
        extract,
        "households.csv line 4, column district_code",
        "members.csv line 6, column date_of_birth",
        households=households,
        members=members,
    )
    assert err.total == len(err.problems) == 2


def test_problems_are_capped_per_check(extract: Extract, tmp_path: Path) -> None:
    def edit(header: list[str], rows: list[list[str]]) -> None:
        for i in range(30):
            rows[i][header.index("rooms")] = "many"

    err = assert_rejected(
        extract,
        "households.csv: … and 10 more (rooms type)",
        households=edited(extract, tmp_path, "households", edit),
    )
    assert len(err.problems) == 20 and err.total == 30
    assert len(err.report().splitlines()) == 21


def test_a_value_spanning_lines_keeps_line_numbers_right(extract: Extract, tmp_path: Path) -> None:
    def edit(header: list[str], rows: list[list[str]]) -> None:
        rows[0][header.index("address")] += "\nsecond line of the address"
        rows[5][header.index("rooms")] = "abc"

    path = edited(extract, tmp_path, "households", edit)
    assert_rejected(extract, f"households.csv line {line(5) + 1}, column rooms: 'abc'", households=path)


def test_parquet_problems_name_the_row(extract: Extract, tmp_path: Path) -> None:
    source = extract.path("households", "parquet")
    path = tmp_path / "households.parquet"
    con = duckdb.connect()
    con.execute(
        f"COPY (SELECT * REPLACE (CASE WHEN household_id = (SELECT household_id FROM '{source}' LIMIT 1 OFFSET 6) "
        f"THEN 'PK999' ELSE district_code END AS district_code) FROM '{source}') TO '{path}' (FORMAT parquet)"
    )
    assert_rejected(extract, "households.parquet row 7, column district_code: 'PK999'", households=path)
    con.execute(f"COPY (SELECT * EXCLUDE (rooms) FROM '{source}') TO '{path}' (FORMAT parquet)")
    assert_rejected(extract, "households.parquet: missing column(s): rooms", households=path)
    con.close()
    path.write_bytes(b"PAR1 this is not parquet")
    assert_rejected(extract, "households.parquet: not a readable Parquet file", households=path)


def test_secret_values_are_masked_in_reports(extract: Extract, tmp_path: Path) -> None:
    header, rows = extract.rows("members")
    i = find(header, rows, cnic=lambda v: v != "")
    rows[i][header.index("cnic")] = "12345678901x3"
    path = write_rows(tmp_path / "members.csv", header, rows)
    err = assert_rejected(extract, "column cnic: '12**********3' does not match the pattern", members=path)
    assert "12345678901x3" not in err.report()


def test_failed_build_leaves_no_staging_file(extract: Extract) -> None:
    """SnapshotStore.writer removes the staged file and its spill folder when anything is raised."""
    before = store_state(extract.store)
    with pytest.raises(RuntimeError), extract.store.writer("ingest") as staging:
        con = open_for_build(staging.path)
        con.execute("CREATE TABLE t AS SELECT 1 AS x")
        con.close()
        assert staging.path.exists()
        raise RuntimeError("boom")
    assert store_state(extract.store) == before
    assert list((extract.store.root / ".staging").iterdir()) == []


# -- the command ---------------------------------------------------------------------------------------------------


def test_cli_ingest_rejects_a_bad_file(extract: Extract, tmp_path: Path) -> None:
    members = edited(extract, tmp_path, "members", setter("age", "old", 3))
    before = store_state(extract.store)
    result = CliRunner().invoke(
        main,
        ["warehouse", "ingest", "--households", str(extract.path("households")), "--members", str(members)],
        env={"NSER_DATA_DIR": str(extract.store.root)},
    )
    assert result.exit_code != 0
    assert f"members.csv line {line(3)}, column age: 'old' is not a valid TINYINT" in result.output
    assert "ingest rejected: 1 problem(s); the current snapshot is unchanged" in result.output
    assert store_state(extract.store) == before


def test_cli_ingest_loads_good_files(extract: Extract, tmp_path: Path) -> None:
    root = tmp_path / "nser"
    args = ["warehouse", "ingest", "--households", str(extract.path("households", "parquet"))]
    args += ["--members", str(extract.path("members", "parquet")), "--as-of", "2025-06-30"]
    args += ["--schools", str(extract.path("schools")), "--cct", str(extract.path("cct_enrolments"))]
    result = CliRunner().invoke(main, args, env={"NSER_DATA_DIR": str(root)})
    assert result.exit_code == 0, result.output
    snap = SnapshotStore(root).require_current()
    assert f"snapshot {snap.snapshot_id} as of 2025-06-30: {HOUSEHOLDS:,} households" in result.stdout
    assert snap.manifest["tables"]["cct_enrolments"] == extract.synthetic.manifest["tables"]["cct_enrolments"]
