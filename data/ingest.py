"""Ingest of real NSER extracts: validate everything, then load a new snapshot, or load nothing.

Why all-or-nothing: a registry that is half loaded (a district missing, members without their
household) would publish wrong counts with nothing to say so. So every check runs on the whole
extract first, every problem found is collected (with file, line and column) and reported at once,
and only a clean extract is written and made current. A rejected load leaves the current snapshot
as it was, byte for byte, and no staging file behind (``SnapshotStore.writer`` removes it).

What an extract is: one file per catalogue table (households and members, optionally schools,
Taleemi Wazaif enrolments and payments), CSV (UTF-8, comma-separated, header line) or Parquet,
carrying exactly the catalogue's ``source: extract`` columns. Everything the warehouse derives (names
from codes, household size and counts, PMT band, Kafaalat status, copied household columns) is
computed here with the SQL in ``data.derived`` so generated and ingested snapshots agree; record keys
come from the store's persistent secret, never from the file.

How: each file is read into a temporary all-VARCHAR table numbered in file order, so one SQL check
per rule finds every offending row with its line number; casts happen only once a value is known to
be valid.
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import hashlib
import io
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import duckdb
import pandas as pd

from data import derived, geography
from data.catalogue import Column, Table, load_catalogue
from data.rules import load_rules
from data.snapshots import Snapshot, SnapshotStore
from data.warehouse import integrate, open_for_build, snapshot_manifest, write_snapshot_info

Progress = Callable[[str], None]

FORMATS = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet"}
MAX_EXAMPLES = 20  # problems shown per file and check; the rest are counted
CHUNK_BYTES = 16 * 2**20
MAX_BLANK_LINES = 1000
MAX_CODES_LISTED = 12
# Parent of each reference level, for the consistency of a row's codes.
HIERARCHY = (("tehsil", "district"), ("district", "division"), ("division", "province"))
INT_BOUNDS = {
    "TINYINT": (-(2**7), 2**7 - 1),
    "UTINYINT": (0, 2**8 - 1),
    "SMALLINT": (-(2**15), 2**15 - 1),
    "INTEGER": (-(2**31), 2**31 - 1),
    "BIGINT": (-(2**63), 2**63 - 1),
}
TYPE_HINTS = {
    "DOUBLE": "a finite number such as 12.5",
    "BOOLEAN": "true/false, 1/0 or yes/no",
    "DATE": "a date as YYYY-MM-DD",
    **{t: f"a whole number from {lo:,} to {hi:,}" for t, (lo, hi) in INT_BOUNDS.items()},
}
CSV_OPTIONS = (
    "header = true, auto_detect = false, strict_mode = true, delim = ',', quote = '\"', escape = '\"'"
)


# -- problems ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class IngestProblem:
    """One thing wrong with an extract, located as precisely as the check allows.

    ``line`` is the CSV line (the header is line 1) or the Parquet row (``unit`` says which);
    ``check`` groups problems of one kind so the report can cap them.
    """

    file: str
    line: int | None
    column: str | None
    message: str
    check: str = "file"
    unit: str = "line"

    def __str__(self) -> str:
        where = self.file
        if self.line is not None:
            where += f" {self.unit} {self.line}"
        if self.column:
            where += f", column {self.column}"
        return f"{where}: {self.message}"


class IngestError(Exception):
    """The extract was rejected; nothing was published. ``report()`` lists the problems.

    ``problems`` holds the examples (at most ``MAX_EXAMPLES`` per file and check); ``omitted`` counts
    the further problems of each (file, check), and ``total`` is everything found.
    """

    def __init__(
        self,
        problems: Iterable[IngestProblem],
        omitted: dict[tuple[str, str], int] | None = None,
        notes: Iterable[str] = (),
    ):
        self.problems = list(problems)
        self.omitted = dict(omitted or {})
        self.notes = list(notes)
        super().__init__(f"ingest rejected: {self.total} problem(s)")

    @property
    def total(self) -> int:
        return len(self.problems) + sum(self.omitted.values())

    def report(self) -> str:
        """One line per problem, grouped by file and check, with "… and N more" after capped groups."""
        groups: dict[tuple[str, str], list[IngestProblem]] = {}
        for p in self.problems:
            groups.setdefault((p.file, p.check), []).append(p)
        lines: list[str] = []
        for (file, check), items in groups.items():
            lines.extend(str(p) for p in items)
            more = self.omitted.get((file, check), 0)
            if more:
                lines.append(f"{file}: … and {more:,} more ({check.replace(':', ' ')})")
        lines.extend(self.notes)
        return "\n".join(lines)


class _Problems:
    """Collects problems while the checks run, keeping examples and counting the rest."""

    def __init__(self) -> None:
        self.items: list[IngestProblem] = []
        self.omitted: dict[tuple[str, str], int] = {}
        self.notes: list[str] = []

    def __bool__(self) -> bool:
        return bool(self.items)

    def add(self, src: _Source, line: int | None, column: str | None, message: str, check: str) -> None:
        self.items.append(IngestProblem(src.label, line, column, message, check, src.unit))

    def add_capped(self, src: _Source, check: str, total: int, examples: list[IngestProblem]) -> None:
        self.items.extend(examples)
        if total > len(examples):
            self.omitted[(src.label, check)] = self.omitted.get((src.label, check), 0) + total - len(examples)

    def error(self) -> IngestError:
        return IngestError(self.items, self.omitted, self.notes)


# -- sources ---------------------------------------------------------------------------------------------


@dataclass
class _Source:
    """One input file and what the checks learnt about it."""

    table: str
    path: Path
    fmt: str = ""
    sha256: str = ""
    rows: int = 0
    columns: list[str] = field(default_factory=list)
    ok: bool = False  # read with the right columns, no structural problems, at least one row
    skipped: bool = False  # readable, but problems in its layout stopped the content checks
    line_endings: int | None = None  # first line whose ending differs from the header's (a hint)
    stamp: tuple[int, int] | None = None  # size and modification time when it was hashed

    @property
    def label(self) -> str:
        return self.path.name

    @property
    def unit(self) -> str:
        return "row" if self.fmt == "parquet" else "line"

    @property
    def raw(self) -> str:
        return f"raw_{self.table}"

    @property
    def view(self) -> str:
        """The raw rows with ``_line``, the location used in every report."""
        return f"src_{self.table}"

    @property
    def spec(self) -> Table:
        return load_catalogue().table(self.table)


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _lit(value: str) -> str:
    return "'" + str(value).replace("'", "''") + "'"


def _shown(column: Column | None, value: object) -> str:
    """A value as quoted in a report; secret fields (CNIC, location) are masked but keep their length."""
    text = "" if value is None else str(value)
    if column is not None and column.is_secret:
        text = text[:2] + "*" * max(0, len(text) - 3) + text[-1:] if len(text) > 4 else "*" * len(text)
    if len(text) > 60:
        text = text[:57] + "..."
    return repr(text)


# -- reference geography -------------------------------------------------------------------------------------


@cache
def _reference_units() -> pd.DataFrame:
    """Province, division, district and tehsil codes with the codes of every unit above them."""
    t = geography.tehsils()
    d = geography.districts()
    v = geography.divisions()
    p = geography.provinces()
    frames = [
        pd.DataFrame({"level": "province", "code": p.province_code, "province_code": p.province_code}),
        pd.DataFrame(
            {
                "level": "division",
                "code": v.division_code,
                "division_code": v.division_code,
                "province_code": v.province_code,
            }
        ),
        pd.DataFrame(
            {
                "level": "district",
                "code": d.district_code,
                "district_code": d.district_code,
                "division_code": d.division_code,
                "province_code": d.province_code,
            }
        ),
        pd.DataFrame(
            {
                "level": "tehsil",
                "code": t.tehsil_code,
                "district_code": t.district_code,
                "division_code": t.division_code,
                "province_code": t.province_code,
            }
        ),
    ]
    out = pd.concat(frames, ignore_index=True)
    return out[["level", "code", "district_code", "division_code", "province_code"]].astype("string")


def _register_reference(con: duckdb.DuckDBPyConnection) -> None:
    con.register("ref_units_df", _reference_units())
    con.execute("CREATE TEMP TABLE ref_units AS SELECT * FROM ref_units_df")
    con.unregister("ref_units_df")
    names = geography.tehsils()[
        ["tehsil_code", "tehsil_name", "district_name", "division_name", "province_name"]
    ]
    con.register("ref_names_df", names)
    con.execute("CREATE TEMP TABLE ref_names AS SELECT * FROM ref_names_df")
    con.unregister("ref_names_df")


# -- step 1: the bytes of each file ------------------------------------------------------------------------


def _prescan(src: _Source, problems: _Problems) -> bool:
    """File-level checks before any parsing: exists, readable, supported, not empty; CSV also UTF-8.

    Returns whether the file can be read. The SHA-256 for the manifest is computed on the way.
    """
    path = src.path
    src.fmt = FORMATS.get(path.suffix.lower(), "")
    if not path.exists():
        problems.add(src, None, None, f"file not found: {path}", "file")
        return False
    if not path.is_file():
        problems.add(src, None, None, f"{path} is not a file", "file")
        return False
    if not src.fmt:
        problems.add(
            src,
            None,
            None,
            f"unsupported file type {path.suffix or '(none)'!r}: use .csv or .parquet",
            "file",
        )
        return False
    try:
        stat = path.stat()
        src.stamp = (stat.st_size, stat.st_mtime_ns)
        if stat.st_size == 0:
            problems.add(src, None, None, "the file is empty (0 bytes)", "file")
            return False
        return _scan_csv(src, problems) if src.fmt == "csv" else _scan_binary(src)
    except OSError as exc:
        problems.add(src, None, None, f"cannot be read: {exc.strerror or exc}", "file")
        return False


def _scan_binary(src: _Source) -> bool:
    digest = hashlib.sha256()
    with open(src.path, "rb") as fh:
        while chunk := fh.read(CHUNK_BYTES):
            digest.update(chunk)
    src.sha256 = digest.hexdigest()
    return True


_STRAY_CR = {b"\n": re.compile(rb"\r"), b"\r\n": re.compile(rb"\r(?!\n)|(?<!\r)\n")}


class _CsvScan:
    """What one pass over the bytes of a CSV learns: hash, first non-UTF-8 byte, blank lines and the
    first line whose ending differs from the header's. Fed in large chunks (the C decoder is fast)."""

    def __init__(self) -> None:
        self.digest = hashlib.sha256()
        self.pending = b""  # an incomplete UTF-8 sequence carried to the next chunk
        self.newlines = 0  # newlines before the current chunk
        self.tail = b""  # last bytes of the previous chunk, for blank lines across a boundary
        self.bad: tuple[int, int] | None = None  # (line, byte) of the first invalid byte
        self.blanks: list[int] = []
        self.last_content_line = 0
        self.ending: bytes | None = None
        self.odd_ending: int | None = None

    def feed(self, chunk: bytes) -> None:
        self.digest.update(chunk)
        if self.bad is None:
            self._decode(chunk)
        if len(self.blanks) < MAX_BLANK_LINES:
            self._blank_lines(chunk)
        self._line_endings(chunk)
        stripped = chunk.rstrip(b"\r\n")
        if stripped:
            self.last_content_line = self.newlines + stripped.count(b"\n") + 1
        self.newlines += chunk.count(b"\n")
        self.tail = chunk[-2:]

    def finish(self) -> None:
        if self.bad is None and self.pending:
            self.bad = (self.newlines + 1, self.pending[0])

    def _decode(self, chunk: bytes) -> None:
        if not self.pending and chunk.isascii():  # the common case, ten times faster than decoding
            return
        data = self.pending + chunk
        try:
            _, used = codecs.utf_8_decode(data, "strict", False)
            self.pending = data[used:]
        except UnicodeDecodeError as exc:
            self.bad = (self.newlines + data[: exc.start].count(b"\n") + 1, data[exc.start])

    def _blank_lines(self, chunk: bytes) -> None:
        """Lines that are empty: a newline right after a newline (``bytes.find``, not a regex: fast)."""
        joined = self.tail + chunk
        starts = []
        for pattern in (b"\n\n", b"\n\r\n"):
            i = joined.find(pattern)
            while i != -1 and len(starts) < MAX_BLANK_LINES:
                if i + len(pattern) > len(self.tail):
                    starts.append(i + 1)
                i = joined.find(pattern, i + 1)
        pos, before = 0, self.newlines - self.tail.count(b"\n")
        for start in sorted(starts)[: MAX_BLANK_LINES - len(self.blanks)]:
            before += joined.count(b"\n", pos, start)
            pos = start
            self.blanks.append(before + 1)

    def _line_endings(self, chunk: bytes) -> None:
        """Only a hint for an error the reader reports without a line, so chunk edges may mislead it."""
        if self.ending is None and b"\n" in chunk:
            self.ending = b"\r\n" if chunk[: chunk.index(b"\n") + 1].endswith(b"\r\n") else b"\n"
        if self.ending is None or self.odd_ending is not None:
            return
        if self.ending == b"\n":
            consistent = b"\r" not in chunk
        else:
            consistent = chunk.count(b"\r") == chunk.count(b"\n") == chunk.count(b"\r\n")
        if consistent:  # the common case, counted at memory speed (the regex is slow)
            return
        m = _STRAY_CR[self.ending].search(chunk)
        if m:
            self.odd_ending = self.newlines + chunk[: m.start()].count(b"\n") + 1


def _scan_csv(src: _Source, problems: _Problems) -> bool:
    """Hash the file, find the first byte that is not UTF-8, and find blank lines inside the data.

    Done in Python so that the report can name the line of the bad byte. Blank lines are refused
    because the CSV reader skips them, which would shift every line number after them; blank lines at
    the very end are harmless and allowed.
    """
    scan = _CsvScan()
    with open(src.path, "rb") as fh:
        while chunk := fh.read(CHUNK_BYTES):
            scan.feed(chunk)
    scan.finish()
    src.sha256 = scan.digest.hexdigest()
    src.line_endings = scan.odd_ending
    ok = True
    if scan.bad is not None:
        line, byte = scan.bad
        problems.add(
            src,
            line,
            None,
            f"not valid UTF-8 (first invalid byte 0x{byte:02X}); save the extract as UTF-8",
            "encoding",
        )
        ok = False
    interior = [b for b in scan.blanks if b < scan.last_content_line]
    examples = [
        IngestProblem(src.label, b, None, "blank line inside the data; remove it", "blank-line", src.unit)
        for b in interior[:MAX_EXAMPLES]
    ]
    if examples:
        problems.add_capped(src, "blank-line", len(interior), examples)
        ok = False
    src.skipped = not ok
    return ok


def _csv_header(path: Path) -> list[str]:
    """Column names from the first line (a UTF-8 byte-order mark is allowed)."""
    with open(path, "rb") as fh:
        first = fh.readline(2**20)
    text = first.decode("utf-8-sig", errors="replace").rstrip("\r\n")
    return next(csv.reader(io.StringIO(text)), [])


# -- step 2: columns and structure --------------------------------------------------------------------------


def _check_columns(src: _Source, names: list[str], problems: _Problems) -> bool:
    """The header must carry exactly the catalogue's extract columns (in any order), each once."""
    table = src.spec
    expected = [c.name for c in table.extract_columns()]
    ok = True
    seen: dict[str, int] = {}
    for i, name in enumerate(names, 1):
        if not name.strip():
            problems.add(src, None, None, f"the header has an empty column name at position {i}", "columns")
            ok = False
        seen[name] = seen.get(name, 0) + 1
    for name, n in seen.items():
        if n > 1 and name.strip():
            problems.add(src, None, name, f"column {name} appears {n} times in the header", "columns")
            ok = False
    missing = [n for n in expected if n not in seen]
    if missing:
        problems.add(src, None, None, f"missing column(s): {', '.join(missing)}", "columns")
        ok = False
    extra = [n for n in seen if n.strip() and n not in expected]
    for name in extra:
        col = table.columns.get(name)
        if col is not None and col.source == "internal":
            problems.add(
                src,
                None,
                name,
                f"{name} is generated by the warehouse (internal disclosure-control key) and must not be in an extract",
                "columns",
            )
        elif col is not None:
            problems.add(
                src, None, name, f"{name} is derived by the warehouse; remove it from the extract", "columns"
            )
    unknown = [n for n in extra if n not in table.columns]
    if unknown:
        problems.add(
            src, None, None, f"extra column(s) not in the catalogue: {', '.join(unknown)}", "columns"
        )
    if extra:
        ok = False
    src.columns = names
    return ok


def _load_csv(con: duckdb.DuckDBPyConnection, src: _Source, problems: _Problems) -> bool:
    """Read the CSV as text into ``raw_<table>``, numbered in file order; ragged rows become problems.

    The reader is told the exact layout (no sniffing) and runs in strict mode with rejects stored, so
    every short, long or badly quoted row is reported with its line instead of one exception.
    """
    names = _csv_header(src.path)
    if not _check_columns(src, names, problems):
        return False
    columns = "{" + ", ".join(f"{_lit(n)}: 'VARCHAR'" for n in names) + "}"
    rejects = f"rej_{src.table}"
    try:
        con.execute(
            f"CREATE TEMP TABLE {src.raw} AS SELECT row_number() OVER () AS _row, * FROM read_csv("
            f"{_lit(str(src.path))}, {CSV_OPTIONS}, columns = {columns}, store_rejects = true, "
            f"rejects_table = '{rejects}', rejects_scan = 'rejscan_{src.table}', max_line_size = 16777216)"
        )
    except duckdb.Error as exc:
        line, detail = _reader_error(str(exc))
        if line is None and src.line_endings is not None:
            line, detail = (
                src.line_endings,
                (
                    "a carriage return (\\r) inside the line, or line endings that differ from the header's; "
                    "the reader cannot split the file into rows"
                ),
            )
        problems.add(src, line, None, f"cannot be read as CSV: {detail}", "structure")
        return False
    # A short row is rejected once per missing column: one problem per line is enough.
    rejected = con.execute(
        f"""SELECT line, arg_min(error_type, column_idx), arg_min(error_message, column_idx), count(*) OVER ()
        FROM {rejects} GROUP BY line ORDER BY line LIMIT {MAX_EXAMPLES}"""
    ).fetchall()
    if rejected:
        width = len(names)
        examples = [
            IngestProblem(src.label, line, None, _structure_message(kind, msg, width), "structure", src.unit)
            for line, kind, msg, _n in rejected
        ]
        problems.add_capped(src, "structure", rejected[0][-1], examples)
        return False
    _number_lines(con, src, names)
    return True


def _reader_error(message: str) -> tuple[int | None, str]:
    """Line and plain message of a CSV reader error, without DuckDB's option dump and fix list."""
    lines = message.splitlines()
    head = re.sub(r"^[A-Za-z ]+Error: ", "", lines[0] if lines else message)
    m = re.match(r"CSV Error on Line: (\d+)", head)
    if not m:
        return None, head.strip()
    body: list[str] = []
    skip_next = False
    for ln in lines[1:]:
        if ln.startswith(("Possible", "  file =")):
            break
        if ln.startswith("Original Line:"):
            skip_next = not ln.removeprefix("Original Line:").strip()
            continue
        if skip_next:
            skip_next = False
            continue
        if ln.strip():
            body.append(ln.strip())
    return int(m.group(1)), " ".join(body) or head


def _structure_message(kind: str, message: str, width: int) -> str:
    """Plain words for the CSV reader's reject types."""
    found = re.search(r"Found: (\d+)", message or "")
    if kind == "MISSING COLUMNS":
        n = found.group(1) if found else "fewer"
        return f"the row has {n} of {width} fields (truncated, or a separator is missing)"
    if kind == "TOO MANY COLUMNS":
        n = found.group(1) if found else "more"
        return f"the row has {n} fields, the header {width} (an unquoted comma, or a separator too many)"
    if kind == "UNQUOTED VALUE":
        return "a quoted value is not closed, or a quote appears inside an unquoted value"
    if kind == "INVALID ENCODING":
        return "not valid UTF-8; save the extract as UTF-8"
    if kind == "LINE SIZE OVER MAXIMUM":
        return "the line is longer than 16 MB"
    return f"cannot be parsed ({kind.lower()}: {message})"


def _number_lines(con: duckdb.DuckDBPyConnection, src: _Source, names: list[str]) -> None:
    """Create the view with ``_line``: the file line where each row starts (header is line 1).

    Normally a row's line is its number + 1; a quoted value that spans lines pushes later rows down,
    so when any value holds a newline the lines are counted (rare, and only then paid for).
    """
    cols = [_q(n) for n in names]
    spans = " OR ".join(f"contains({c}, chr(10))" for c in cols)
    multiline = con.execute(f"SELECT count(*) FROM {src.raw} WHERE {spans}").fetchone()[0]
    if not multiline:
        con.execute(f"CREATE TEMP VIEW {src.view} AS SELECT *, _row + 1 AS _line FROM {src.raw}")
        return
    newlines = " + ".join(
        f"(length(coalesce({c}, '')) - length(replace(coalesce({c}, ''), chr(10), '')))" for c in cols
    )
    con.execute(
        f"""CREATE TEMP TABLE lines_{src.table} AS
        SELECT _row, _row + 1 + coalesce(sum(nl) OVER (ORDER BY _row ROWS BETWEEN UNBOUNDED PRECEDING
          AND 1 PRECEDING), 0) AS _line
        FROM (SELECT _row, {newlines} AS nl FROM {src.raw})"""
    )
    con.execute(
        f"CREATE TEMP VIEW {src.view} AS SELECT r.*, l._line FROM {src.raw} r JOIN lines_{src.table} l USING (_row)"
    )


def _load_parquet(con: duckdb.DuckDBPyConnection, src: _Source, problems: _Problems) -> bool:
    """Read the Parquet file as text (empty strings count as empty) with its row numbers."""
    path = _lit(str(src.path))
    try:
        names = [r[0] for r in con.execute(f"DESCRIBE SELECT * FROM read_parquet({path})").fetchall()]
    except duckdb.Error as exc:
        problems.add(src, None, None, f"not a readable Parquet file: {str(exc).splitlines()[0]}", "structure")
        return False
    if not _check_columns(src, names, problems):
        return False
    cols = ", ".join(f"nullif(CAST({_q(n)} AS VARCHAR), '') AS {_q(n)}" for n in names)
    try:
        con.execute(
            f"CREATE TEMP TABLE {src.raw} AS SELECT file_row_number + 1 AS _row, {cols} "
            f"FROM read_parquet({path}, file_row_number = true)"
        )
    except duckdb.Error as exc:
        problems.add(src, None, None, f"cannot be read: {str(exc).splitlines()[0]}", "structure")
        return False
    con.execute(f"CREATE TEMP VIEW {src.view} AS SELECT *, _row AS _line FROM {src.raw}")
    return True


def _load(con: duckdb.DuckDBPyConnection, src: _Source, problems: _Problems) -> None:
    """Read one prescanned file; ``src.ok`` says whether its content can be checked."""
    loaded = _load_csv(con, src, problems) if src.fmt == "csv" else _load_parquet(con, src, problems)
    if not loaded:
        src.skipped = True
        return
    src.rows = con.execute(f"SELECT count(*) FROM {src.raw}").fetchone()[0]
    if src.rows == 0:
        problems.add(src, None, None, "the file has a header but no data rows", "file")
        return
    src.ok = True


# -- step 3: values ------------------------------------------------------------------------------------------


def _typed(col: Column, v: str, as_type: str | None = None) -> str:
    """SQL for the value of text ``v`` in the column's type, NULL when it is not a valid value.

    Stricter than a plain TRY_CAST, which would round '3.5' to 4, read '1e2' as 100 or a timestamp
    as a date. ``as_type`` reads whole numbers in a wider type, so that a value beyond a small type's
    limits is reported against the column's range rather than as not a number.
    """
    t = as_type or col.type
    if t == "VARCHAR":
        return v
    if t == "BOOLEAN":
        return (
            f"CASE lower(trim({v})) WHEN 'true' THEN true WHEN '1' THEN true WHEN 'yes' THEN true "
            f"WHEN 'false' THEN false WHEN '0' THEN false WHEN 'no' THEN false END"
        )
    if t == "DATE":
        return f"CASE WHEN regexp_full_match(trim({v}), '[0-9]{{4}}-[0-9]{{2}}-[0-9]{{2}}') THEN TRY_CAST(trim({v}) AS DATE) END"
    if t == "DOUBLE":
        return f"CASE WHEN isfinite(TRY_CAST({v} AS DOUBLE)) THEN TRY_CAST({v} AS DOUBLE) END"
    return f"CASE WHEN regexp_full_match(trim({v}), '[+-]?[0-9]+') THEN TRY_CAST(trim({v}) AS {t}) END"


def _checked_type(col: Column) -> str:
    """The type values are checked in: BIGINT for whole numbers whose range fits the column's type
    (the range check then reports '300 rooms' as out of range), else the column's own type."""
    if col.type in INT_BOUNDS and col.range is not None:
        lo, hi = INT_BOUNDS[col.type]
        if lo <= col.range[0] and col.range[1] <= hi:
            return "BIGINT"
    return col.type


def _bound(col: Column, value: object) -> str:
    return f"DATE {_lit(str(value))}" if col.type == "DATE" else str(value)


def _value_rules(col: Column) -> list[tuple[str, str]]:
    """(kind, SQL condition that flags a bad value), in the order they are tried for each value."""
    v = _q(col.name)
    rules: list[tuple[str, str]] = []
    if not col.nullable:
        rules.append(("required", f"{v} IS NULL OR trim({v}) = ''"))
    checked = _checked_type(col)
    if col.type != "VARCHAR":
        rules.append(("type", f"{v} IS NOT NULL AND {_typed(col, v, checked)} IS NULL"))
    if col.codes:
        codelist = load_catalogue().codelists[col.codes]
        if codelist.pattern:
            rules.append(("code", f"NOT regexp_full_match({v}, {_lit(codelist.pattern)})"))
        else:
            rules.append(("code", f"{v} NOT IN ({', '.join(_lit(c) for c in codelist.codes)})"))
    if col.pattern:
        rules.append(("pattern", f"NOT regexp_full_match({v}, {_lit(col.pattern)})"))
    if col.range:
        lo, hi = col.range
        rules.append(
            ("range", f"{_typed(col, v, checked)} NOT BETWEEN {_bound(col, lo)} AND {_bound(col, hi)}")
        )
    if col.reference:
        rules.append(
            ("reference", f"{v} NOT IN (SELECT code FROM ref_units WHERE level = '{col.reference}')")
        )
    return rules


def _value_message(col: Column, kind: str, value: object) -> str:
    shown = _shown(col, value)
    if kind == "required":
        return "required value is empty"
    if kind == "type":
        hint = "a whole number" if _checked_type(col) != col.type else TYPE_HINTS[col.type]
        return f"{shown} is not a valid {col.type} ({hint})"
    if kind == "code":
        codelist = load_catalogue().codelists[col.codes]
        if codelist.pattern:
            return f"{shown} is not a valid {codelist.name} (pattern {codelist.pattern})"
        codes = list(codelist.codes)
        allowed = ", ".join(codes) if len(codes) <= MAX_CODES_LISTED else f"see code list {codelist.name}"
        return f"{shown} is not in code list {codelist.name} (allowed: {allowed})"
    if kind == "pattern":
        return f"{shown} does not match the pattern {col.pattern}"
    if kind == "range":
        lo, hi = col.range
        return f"{shown} is outside the allowed range {lo} to {hi}"
    return f"{shown} is not a {col.reference} code in the reference list"


def _examples(con: duckdb.DuckDBPyConnection, sql: str) -> list[dict]:
    """Rows of a check query (columns ``kind``, ``_line`` and details): the first examples of each
    kind in file order, each with ``_total``, the number of rows of its kind."""
    cur = con.execute(
        f"""SELECT *, count(*) OVER (PARTITION BY kind) AS _total FROM ({sql}) q
        QUALIFY row_number() OVER (PARTITION BY kind ORDER BY _line) <= {MAX_EXAMPLES}
        ORDER BY kind, _line"""
    )
    names = [d[0] for d in cur.description]
    return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]


def _report(
    problems: _Problems,
    src: _Source,
    rows: list[dict],
    column: str | Callable[[dict], str] | None,
    message: Callable[[dict], str],
    check: str,
) -> None:
    """Turn check rows into capped problems, one group per kind."""
    by_kind: dict[str, list[dict]] = {}
    for row in rows:
        by_kind.setdefault(row["kind"], []).append(row)
    for kind, items in by_kind.items():
        name = f"{check}:{kind}"
        examples = [
            IngestProblem(
                src.label,
                r["_line"],
                column(r) if callable(column) else column,
                message(r),
                name,
                src.unit,
            )
            for r in items
        ]
        problems.add_capped(src, name, items[0]["_total"], examples)


def _check_values(con: duckdb.DuckDBPyConnection, src: _Source, problems: _Problems) -> None:
    """Per column: required, type, code list, pattern, range and reference codes; one scan per column."""
    for col in src.spec.extract_columns():
        rules = _value_rules(col)
        if not rules:
            continue
        case = "CASE " + " ".join(f"WHEN {cond} THEN '{kind}'" for kind, cond in rules) + " END"
        rows = _examples(
            con,
            f"SELECT * FROM (SELECT _line, {_q(col.name)} AS v, {case} AS kind FROM {src.view}) WHERE kind IS NOT NULL",
        )
        _report(
            problems, src, rows, col.name, lambda r, c=col: _value_message(c, r["kind"], r["v"]), col.name
        )


def _check_hierarchy(con: duckdb.DuckDBPyConnection, src: _Source, problems: _Problems) -> None:
    """A tehsil must lie in the row's district, the district in its division, the division in its province."""
    refs = {c.reference: c.name for c in src.spec.extract_columns() if c.reference}
    for child, parent in HIERARCHY:
        if child not in refs or parent not in refs:
            continue
        cc, pc = _q(refs[child]), _q(refs[parent])
        rows = _examples(
            con,
            f"""SELECT 'parent' AS kind, s._line, s.{cc} AS child, s.{pc} AS given, r.{parent}_code AS expected
            FROM {src.view} s JOIN ref_units r ON r.level = '{child}' AND r.code = s.{cc}
            WHERE s.{pc} IN (SELECT code FROM ref_units WHERE level = '{parent}') AND s.{pc} <> r.{parent}_code""",
        )
        _report(
            problems,
            src,
            rows,
            refs[child],
            lambda r, ch=child, pa=parent: (
                f"{ch} {r['child']} belongs to {pa} {r['expected']}, not {r['given']} given in {refs[pa]}"
            ),
            f"{refs[child]}:consistency",
        )


def _check_unique(con: duckdb.DuckDBPyConnection, src: _Source, problems: _Problems) -> None:
    """Keys and ``unique`` columns: each duplicated value once, with the lines of its first two rows."""
    table = src.spec
    cols = [table.columns[table.key]] + [
        c for c in table.extract_columns() if c.unique and c.name != table.key
    ]
    for col in cols:
        typed = _typed(col, _q(col.name))
        rows = _examples(
            con,
            f"""SELECT 'duplicate' AS kind, lines[2] AS _line, lines[1] AS first, n, v FROM (
              SELECT any_value({_q(col.name)}) AS v, min(_line, 2) AS lines, count(*) AS n
              FROM {src.view} WHERE {typed} IS NOT NULL GROUP BY {typed} HAVING count(*) > 1)""",
        )
        unit = src.unit
        _report(
            problems,
            src,
            rows,
            col.name,
            lambda r, c=col, u=unit: (
                f"duplicate {c.name} {_shown(c, r['v'])}: {u}s {r['first']} and {r['_line']} both carry it"
                + (f" ({r['n']} rows in all)" if r["n"] > 2 else "")
            ),
            f"{col.name}:unique",
        )


def _check_codes_nest(con: duckdb.DuckDBPyConnection, src: _Source, problems: _Problems) -> None:
    """Union council codes start with their tehsil's code, village codes with their union council's,
    and a union council has one name (geo_units is built from these)."""
    names = set(src.columns)
    for child, parent in (("uc_code", "tehsil_code"), ("village_code", "uc_code")):
        if child not in names or parent not in names:
            continue
        rows = _examples(
            con,
            f"""SELECT 'prefix' AS kind, _line, {child} AS child, {parent} AS parent FROM {src.view}
            WHERE NOT starts_with({child}, {parent})""",
        )
        _report(
            problems,
            src,
            rows,
            child,
            lambda r, ch=child, pa=parent: (
                f"{ch} {r['child']!r} does not start with its {pa} {r['parent']!r}"
            ),
            f"{child}:nesting",
        )
    if {"uc_code", "uc_name"} <= names:
        rows = _examples(
            con,
            f"""WITH f AS (SELECT uc_code, arg_min(uc_name, _line) AS first_name, min(_line) AS first_line
              FROM {src.view} WHERE uc_name IS NOT NULL GROUP BY uc_code)
            SELECT 'name' AS kind, s._line, s.uc_code, s.uc_name, f.first_name, f.first_line
            FROM {src.view} s JOIN f USING (uc_code) WHERE s.uc_name <> f.first_name""",
        )
        _report(
            problems,
            src,
            rows,
            "uc_name",
            lambda r, u=src.unit: (
                f"union council {r['uc_code']} is named {r['uc_name']!r} here but "
                f"{r['first_name']!r} on {u} {r['first_line']}"
            ),
            "uc_name:consistency",
        )


def _check_cnic_parity(con: duckdb.DuckDBPyConnection, src: _Source, problems: _Problems) -> None:
    """NADRA numbers end in an odd digit for men and an even one for women (rules.yaml cnic)."""
    if not {"cnic", "gender"} <= set(src.columns):
        return
    rows = _examples(
        con,
        f"""SELECT 'parity' AS kind, _line, right(cnic, 1)::INTEGER AS digit, gender FROM {src.view}
        WHERE regexp_full_match(cnic, '[0-9]{{13}}') AND (
          (gender = 'male' AND right(cnic, 1)::INTEGER % 2 = 0) OR (gender = 'female' AND right(cnic, 1)::INTEGER % 2 = 1))""",
    )
    rule = load_rules()["cnic"]["last_digit"]
    _report(
        problems,
        src,
        rows,
        "cnic",
        lambda r: (
            f"the number ends in {r['digit']} ({'even' if r['digit'] % 2 == 0 else 'odd'}) but gender is "
            f"{r['gender']}: the last digit is {rule}"
        ),
        "cnic:parity",
    )


def _check_references(
    con: duckdb.DuckDBPyConnection, src: _Source, sources: dict[str, _Source], problems: _Problems
) -> None:
    """Every ``references`` column points at a row of the referenced file (no orphans)."""
    cat = load_catalogue()
    for col in src.spec.extract_columns():
        if not col.references:
            continue
        rt, _, rc = col.references.partition(".")
        target = sources.get(rt)
        if target is None or not target.ok:
            continue
        key = cat.column(rt, rc)
        rows = _examples(
            con,
            f"""SELECT 'orphan' AS kind, s._line, s.{_q(col.name)} AS v FROM {src.view} s
            ANTI JOIN (SELECT DISTINCT {_typed(key, _q(rc))} AS k FROM {target.view}) t ON {_typed(col, "s." + _q(col.name))} = t.k
            WHERE {_typed(col, "s." + _q(col.name))} IS NOT NULL""",
        )
        _report(
            problems,
            src,
            rows,
            col.name,
            lambda r, c=col, t=target, k=rc: f"{k} {_shown(c, r['v'])} is not in {t.label}",
            f"{col.name}:reference",
        )


def _build_roster(con: duckdb.DuckDBPyConnection, mem: _Source) -> None:
    """The typed columns the roster checks need, once, as ``roster``."""
    cat = load_catalogue()
    hid, age, line_no = (cat.column("members", c) for c in ("household_id", "age", "line_no"))
    con.execute(
        f"""CREATE OR REPLACE TEMP TABLE roster AS
        SELECT {_typed(hid, "household_id")} AS hid, relation, _line, cnic, {_typed(age, "age")} AS age,
          {_typed(line_no, "line_no")} AS line_no
        FROM {mem.view} WHERE {_typed(hid, "household_id")} IS NOT NULL"""
    )


def _check_households(con: duckdb.DuckDBPyConnection, hh: _Source, mem: _Source, problems: _Problems) -> None:
    """Each household has members, exactly one of them the head, and no more than the catalogue's
    maximum household size (the head's columns and the counts are derived from them)."""
    hid = load_catalogue().column("households", "household_id")
    max_size = load_catalogue().column("households", "household_size").range[1]
    rows = _examples(
        con,
        f"""WITH a AS (
          SELECT hid, count(*) AS n, count(*) FILTER (WHERE relation = 'head') AS heads,
            min(_line, 3) FILTER (WHERE relation = 'head') AS head_lines
          FROM roster GROUP BY hid)
        SELECT * FROM (
          SELECT h._line, h.household_id AS v, a.n, a.heads, a.head_lines,
            CASE WHEN a.n IS NULL THEN 'no-members' WHEN a.heads = 0 THEN 'no-head' WHEN a.heads > 1 THEN 'heads'
                 WHEN a.n > {max_size} THEN 'size' END AS kind
          FROM {hh.view} h LEFT JOIN a ON a.hid = {_typed(hid, "h.household_id")}
          WHERE {_typed(hid, "h.household_id")} IS NOT NULL)
        WHERE kind IS NOT NULL""",
    )

    def message(r: dict) -> str:
        if r["kind"] == "no-members":
            return f"household {r['v']} has no members in {mem.label}"
        if r["kind"] == "no-head":
            return f"household {r['v']} has no member with relation 'head' in {mem.label}"
        if r["kind"] == "heads":
            lines = ", ".join(str(x) for x in r["head_lines"])
            return f"household {r['v']} has {r['heads']} members with relation 'head' ({mem.label} {mem.unit}s {lines})"
        return f"household {r['v']} has {r['n']} members; at most {max_size} are allowed"

    _report(problems, hh, rows, "household_id", message, "household_id:roster")


def _check_heads(con: duckdb.DuckDBPyConnection, mem: _Source, problems: _Problems) -> None:
    """A head needs a CNIC (``head_cnic`` is required) and an age a head can have (``head_age`` range)."""
    lo, hi = load_catalogue().column("households", "head_age").range
    rows = _examples(
        con,
        f"""SELECT * FROM (
          SELECT _line, hid, age, CASE WHEN cnic IS NULL THEN 'cnic' WHEN age NOT BETWEEN {lo} AND {hi} THEN 'age' END
            AS kind
          FROM roster WHERE relation = 'head') WHERE kind IS NOT NULL""",
    )
    _report(
        problems,
        mem,
        rows,
        lambda r: r["kind"],
        lambda r: (
            f"the head of household {r['hid']} has no CNIC (every household needs the head's CNIC)"
            if r["kind"] == "cnic"
            else f"the head of household {r['hid']} is {r['age']}; a head must be {lo} to {hi}"
        ),
        "head",
    )


def _check_roster_lines(con: duckdb.DuckDBPyConnection, mem: _Source, problems: _Problems) -> None:
    """A roster line number is used once within a household."""
    rows = _examples(
        con,
        """SELECT 'twice' AS kind, _line, hid, line_no, first FROM (
          SELECT _line, hid, line_no, min(_line) OVER (PARTITION BY hid, line_no) AS first FROM roster
          WHERE line_no IS NOT NULL) WHERE _line > first""",
    )
    _report(
        problems,
        mem,
        rows,
        "line_no",
        lambda r: (
            f"line_no {r['line_no']} of household {r['hid']} is already used on {mem.unit} {r['first']}"
        ),
        "line_no:unique",
    )


def _check_member_household(
    con: duckdb.DuckDBPyConnection, src: _Source, mem: _Source, problems: _Problems
) -> None:
    """A programme row's household must be its member's household."""
    cat = load_catalogue()
    mcol, hcol = cat.column(src.table, "member_id"), cat.column(src.table, "household_id")
    rows = _examples(
        con,
        f"""SELECT 'household' AS kind, s._line, s.member_id, s.household_id, m.hid FROM {src.view} s
        JOIN (SELECT {_typed(cat.column("members", "member_id"), "member_id")} AS mid,
                     {_typed(cat.column("members", "household_id"), "household_id")} AS hid FROM {mem.view}) m
          ON m.mid = {_typed(mcol, "s.member_id")}
        WHERE {_typed(hcol, "s.household_id")} <> m.hid""",
    )
    _report(
        problems,
        src,
        rows,
        "household_id",
        lambda r: (
            f"member {r['member_id']} belongs to household {r['hid']} in {mem.label}, not {r['household_id']}"
        ),
        "household_id:member",
    )


def _validate(
    con: duckdb.DuckDBPyConnection, sources: dict[str, _Source], problems: _Problems, progress: Progress
) -> None:
    """Run every content check on every readable file, then the checks across files."""
    for src in sources.values():
        if not src.ok:
            continue
        progress(f"checking {src.label}: {src.rows:,} rows")
        _check_values(con, src, problems)
        _check_hierarchy(con, src, problems)
        _check_unique(con, src, problems)
        _check_codes_nest(con, src, problems)
        _check_cnic_parity(con, src, problems)
    progress("checking across files: references, rosters and heads")
    for src in sources.values():
        if src.ok:
            _check_references(con, src, sources, problems)
    hh, mem = sources["households"], sources["members"]
    if mem.ok:
        _build_roster(con, mem)
        _check_heads(con, mem, problems)
        _check_roster_lines(con, mem, problems)
        if hh.ok:
            _check_households(con, hh, mem, problems)
    for name in ("cct_enrolments", "payments"):
        src = sources.get(name)
        if src is not None and src.ok and mem.ok:
            _check_member_household(con, src, mem, problems)
    for src in sources.values():
        if src.skipped:
            problems.notes.append(f"{src.label}: its content was not checked; fix the problems above first")


# -- step 4: write the snapshot --------------------------------------------------------------------------------


def _cast(col: Column, v: str) -> str:
    """SQL converting text ``v`` already checked by ``_typed`` (plain casts are much faster)."""
    if col.type == "VARCHAR":
        return v
    if col.type == "BOOLEAN":
        return f"lower(trim({v})) IN ('true', '1', 'yes')"
    if col.type == "DOUBLE":
        return f"CAST({v} AS DOUBLE)"
    return f"CAST(trim({v}) AS {col.type})"


def _typed_view(con: duckdb.DuckDBPyConnection, src: _Source) -> None:
    """``typed_<table>``: the file's columns in their catalogue types (a view: materialising the
    converted copy costs more than converting twice)."""
    cols = ", ".join(f"{_cast(c, _q(c.name))} AS {_q(c.name)}" for c in src.spec.extract_columns())
    con.execute(f"CREATE TEMP VIEW typed_{src.table} AS SELECT {cols} FROM {src.raw}")


def _write_households(con: duckdb.DuckDBPyConnection, sources: dict[str, _Source], secret: bytes) -> None:
    """Households with everything the warehouse derives, sorted by geography then id.

    The household rules mirror the synthetic builder: head = the member with relation 'head';
    ever-married women are 15+ and not never-married; the beneficiary household is Kafaalat-eligible,
    not excluded by a profiling filter and has an ever-married woman.
    """
    cct_join = (
        "LEFT JOIN (SELECT household_id, count(DISTINCT member_id) AS n FROM typed_cct_enrolments GROUP BY ALL) c "
        "USING (household_id)"
        if "cct_enrolments" in sources
        else "LEFT JOIN (SELECT NULL::BIGINT AS household_id, 0 AS n) c USING (household_id)"
    )
    con.execute(f"""
INSERT INTO households BY NAME
WITH a AS (
  SELECT household_id,
    count(*)::TINYINT AS household_size,
    count(*) FILTER (WHERE age < 5)::TINYINT AS n_children_under_5,
    count(*) FILTER (WHERE gender = 'female' AND marital_status <> 'never_married' AND age >= 15)::TINYINT
      AS n_ever_married_women,
    count(*) FILTER (WHERE {derived.disabled_sql()})::TINYINT AS n_disabled,
    count(*) FILTER (WHERE employment_type = 'government') AS n_government,
    any_value(member_id) FILTER (WHERE relation = 'head') AS head_member_id,
    any_value(gender) FILTER (WHERE relation = 'head') AS head_gender,
    any_value(age) FILTER (WHERE relation = 'head') AS head_age,
    any_value(education) FILTER (WHERE relation = 'head') AS head_education,
    any_value(employment_status) FILTER (WHERE relation = 'head') AS head_employment,
    any_value(cnic) FILTER (WHERE relation = 'head') AS head_cnic
  FROM typed_members GROUP BY household_id
), x AS (
  SELECT h.*, a.* EXCLUDE (household_id), r.province_name, r.division_name, r.district_name, r.tehsil_name,
    {derived.pmt_band_sql()} AS pmt_band,
    a.n_disabled > 0 AS has_disabled_member,
    {derived.kafaalat_eligible_sql()} AS kafaalat_eligible,
    {derived.exclusion_sql()} AS exclusion_raw
  FROM typed_households h JOIN a USING (household_id) JOIN ref_names r USING (tehsil_code)
)
SELECT x.* EXCLUDE (exclusion_raw, n_government),
  kafaalat_eligible AND exclusion_raw IS NULL AND n_ever_married_women > 0 AS is_beneficiary_household,
  CASE WHEN kafaalat_eligible THEN exclusion_raw END AS exclusion_reason,
  coalesce(c.n, 0)::TINYINT AS cct_children,
  {derived.record_key_sql("x.household_id", secret, "household")} AS record_key
FROM x {cct_join}
ORDER BY province_code, division_code, district_code, tehsil_code, uc_code, village_code, household_id
""")


def _write_members(con: duckdb.DuckDBPyConnection, sources: dict[str, _Source], secret: bytes) -> None:
    """Members with their household's columns copied in, in household order then roster line."""
    cct_child = (
        "m.member_id IN (SELECT member_id FROM typed_cct_enrolments)"
        if "cct_enrolments" in sources
        else "false"
    )
    con.execute(f"""
INSERT INTO members BY NAME
WITH h AS (
  SELECT row_number() OVER () AS k, household_id, province_code, division_code, district_code, tehsil_code,
    uc_code, urban_rural, pmt_score, pmt_band, is_beneficiary_household, record_key
  FROM households
)
SELECT m.*,
  {derived.beneficiary_member_sql("m", "h")} AS is_beneficiary,
  {cct_child} AS is_cct_child,
  h.province_code, h.division_code, h.district_code, h.tehsil_code, h.uc_code, h.urban_rural, h.pmt_score,
  h.pmt_band, h.is_beneficiary_household, h.record_key AS household_record_key,
  {derived.record_key_sql("m.member_id", secret, "member")} AS record_key
FROM typed_members m JOIN h USING (household_id)
ORDER BY h.k, m.line_no
""")


def _write_programmes(con: duckdb.DuckDBPyConnection, sources: dict[str, _Source]) -> None:
    """Schools, enrolments and payments when supplied (otherwise the tables stay empty).

    Every column of a programme row that is not in the extract (gender, geography, urban/rural,
    record keys) is the member's column of the same name: the child or beneficiary is the unit.
    """
    cat = load_catalogue()
    if "schools" in sources:
        src = sources["schools"]
        con.execute(f"INSERT INTO schools BY NAME SELECT * FROM typed_schools ORDER BY {src.spec.key}")
    members = cat.table("members").columns
    for name in ("cct_enrolments", "payments"):
        if name not in sources:
            continue
        src = sources[name]
        copied = [c for c in src.spec.columns.values() if c.source != "extract"]
        missing = [c.name for c in copied if c.name not in members]
        if missing:
            raise ValueError(f"catalogue: {name} columns {missing} have no member column to copy from")
        con.execute(f"""
INSERT INTO {name} BY NAME
SELECT p.*, {", ".join(f"m.{_q(c.name)}" for c in copied)}
FROM typed_{name} p JOIN members m USING (member_id)
ORDER BY {src.spec.key}
""")


def _write_geo_units(con: duckdb.DuckDBPyConnection) -> None:
    """Reference units from province to tehsil, and the union councils found in the extract."""
    ucs = con.execute("""
        SELECT uc_code, any_value(uc_name) AS uc_name, any_value(tehsil_code) AS tehsil_code,
          CASE WHEN 2 * count(*) FILTER (WHERE urban_rural = 'urban') >= count(*) THEN 'urban' ELSE 'rural' END
            AS urban_rural,
          avg(longitude) AS longitude, avg(latitude) AS latitude
        FROM households GROUP BY uc_code ORDER BY uc_code""").df()
    empty = pd.DataFrame()
    units = geography.geo_units(geography.Gazetteer(ucs, empty, empty))
    con.register("units_df", units)
    con.execute("""INSERT INTO geo_units BY NAME SELECT level, code, name, name_ur, parent_code, province_code,
        district_code, urban_rural, longitude, latitude FROM units_df
        ORDER BY CASE level WHEN 'province' THEN 1 WHEN 'division' THEN 2 WHEN 'district' THEN 3
        WHEN 'tehsil' THEN 4 ELSE 5 END, code""")
    con.unregister("units_df")


def _write(con: duckdb.DuckDBPyConnection, sources: dict[str, _Source], secret: bytes) -> None:
    """Create every catalogue table from its DDL (the schema of a synthetic snapshot) and fill it."""
    cat = load_catalogue()
    for table in cat.tables:
        con.execute(cat.ddl(table))
    con.execute("DROP TABLE IF EXISTS roster")
    for src in sources.values():
        _typed_view(con, src)
    _write_households(con, sources, secret)
    _write_members(con, sources, secret)
    _write_programmes(con, sources)
    _write_geo_units(con)


# -- entry point ---------------------------------------------------------------------------------------------------


def _sources(paths: dict[str, Path | str | None], problems: _Problems) -> dict[str, _Source]:
    sources = {t: _Source(t, Path(p).expanduser()) for t, p in paths.items() if p is not None}
    for src in sources.values():
        for col in src.spec.extract_columns():
            target = (col.references or "").partition(".")[0]
            if target and target not in sources:
                problems.add(
                    src,
                    None,
                    col.name,
                    f"{col.name} references {col.references}: supply the {target} file too",
                    "file",
                )
    return sources


def _check_unchanged(sources: list[_Source], problems: _Problems) -> None:
    """The files must not change while they are read: the manifest's SHA-256 must describe the data."""
    for src in sources:
        try:
            stat = src.path.stat()
            now = (stat.st_size, stat.st_mtime_ns)
        except OSError:
            now = None
        if now != src.stamp:
            problems.add(src, None, None, "the file changed while it was being ingested; run again", "file")


def ingest_extract(
    households_path: Path | str,
    members_path: Path | str,
    as_of: dt.date | None = None,
    store: SnapshotStore | None = None,
    progress: Progress | None = None,
    *,
    schools_path: Path | str | None = None,
    cct_path: Path | str | None = None,
    payments_path: Path | str | None = None,
    integration: list[dict] | None = None,
) -> Snapshot:
    """Validate real extracts and load them as a new snapshot that becomes current.

    Raises ``IngestError`` listing every problem (file, line, column) when anything is wrong; then
    nothing is published and the current snapshot is untouched. Schools, Taleemi Wazaif enrolments
    and payments are optional; without them those tables are empty and ``cct_children`` is 0.
    """
    store = store or SnapshotStore()
    progress = progress or (lambda msg: None)
    as_of = as_of or dt.date.today()
    started = time.perf_counter()
    problems = _Problems()
    paths = {
        "households": households_path,
        "members": members_path,
        "schools": schools_path,
        "cct_enrolments": cct_path,
        "payments": payments_path,
    }
    sources = _sources(paths, problems)
    readable = [src for src in sources.values() if _prescan(src, problems)]
    stages: list[dict] = []
    with store.writer("ingest") as staging:
        progress(
            f"ingesting into snapshot {staging.snapshot_id}: {', '.join(s.label for s in sources.values())}"
        )
        con = open_for_build(staging.path)
        try:
            con.execute("SET preserve_insertion_order = true")
            _register_reference(con)
            for src in readable:
                _load(con, src, problems)
            _validate(con, sources, problems, progress)
            _check_unchanged(readable, problems)
            stages.append({"stage": "read and validate", "seconds": round(time.perf_counter() - started, 2)})
            if problems:
                progress(
                    f"rejected: {problems.error().total:,} problem(s); the current snapshot is unchanged"
                )
                raise problems.error()
            progress("all checks passed; writing the snapshot")
            _write(con, sources, store.record_key_secret())
            stages.append(
                {"stage": "write", "seconds": round(time.perf_counter() - started - stages[0]["seconds"], 2)}
            )
            applied = integrate(con, integration or [], stages, progress)
            manifest = _manifest(con, sources, as_of, started, stages, integration=applied)
            write_snapshot_info(con, manifest)
            con.execute("CHECKPOINT")
        finally:
            con.close()
        snapshot = staging.publish(manifest)
    progress(
        f"snapshot {snapshot.snapshot_id} is current: {manifest['households']:,} households, "
        f"{manifest['members']:,} members in {manifest['duration_s']} s"
    )
    return snapshot


def _manifest(
    con: duckdb.DuckDBPyConnection,
    sources: dict[str, _Source],
    as_of: dt.date,
    started: float,
    stages: list[dict],
    **extra,
) -> dict:
    """The same keys as a synthetic build's manifest, plus the files ingested with their SHA-256."""
    sources_info = [
        {"table": s.table, "file": str(s.path.resolve()), "sha256": s.sha256, "rows": s.rows}
        for s in sources.values()
    ]
    return snapshot_manifest(con, "ingest", as_of, started, stages, sources=sources_info, **extra)


__all__ = ["IngestError", "IngestProblem", "ingest_extract"]
