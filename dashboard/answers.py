"""How pages ask for numbers — through the governed gateway, as the actor of the current request — and
how an answer becomes the table people read and download (the same table for both: exports are exactly
what is shown)."""

from __future__ import annotations

import io
from dataclasses import dataclass

import pandas as pd

from cubes.gateway import Result
from cubes.model import load_model
from dashboard import place_names
from dashboard.i18n import N_, _, translated
from dashboard.oversight import governed_gateway
from dashboard.web import current_actor

TOTAL = "_total"
SUPPRESSED_NOTE = N_("Empty cells are suppressed (shown as x on screen) to protect households.")
# the area columns of a table, by geographic level: (code column, name column)
LEVEL_HEADERS = {
    "national": (N_("National code"), N_("National")),
    "province": (N_("Province code"), N_("Province")),
    "division": (N_("Division code"), N_("Division")),
    "district": (N_("District code"), N_("District")),
    "tehsil": (N_("Tehsil code"), N_("Tehsil")),
    "union_council": (N_("Union council code"), N_("Union council")),
}


def ask(query: dict) -> Result:
    """The gateway's answer for whoever is logged in (or the public); never raw data."""
    return governed_gateway().run_query(current_actor(), query)


def ask_many(queries: dict[str, dict]) -> dict[str, Result]:
    """Several answers for one page, for the actor of this request (resolved once), logged together
    (``Gateway.run_queries``). One after the other: run side by side in threads they were slower
    (bench/app_bench.py: the gateway's pandas work holds the GIL, and DuckDB's scans of small rollups
    are too short to gain from overlapping)."""
    return governed_gateway().run_queries(current_actor(), queries)


@dataclass(frozen=True)
class Table:
    """A result laid out for people: headers, the kind of each column, rows of labels and numbers.

    Kinds: ``code`` and ``name`` (the area), ``category`` (a member label), ``value`` (a protected number,
    None where suppressed), each value column with its measure's unit.
    """

    headers: list[str]
    kinds: list[str]
    units: list[str | None]
    rows: list[list]

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.rows, columns=self.headers, dtype=object)  # counts stay integers


def _member_label(dim: str, code: str) -> str:
    if code == TOTAL:
        return _("Total")
    dimension = load_model().dimensions.get(dim)
    for m in (dimension.members or []) if dimension else []:
        if m.code == code:
            return _(m.label)
    return code


def _member_order(dim: str, codes: set[str]) -> list[str]:
    dimension = load_model().dimensions.get(dim)
    known = dimension.member_codes() if dimension else None
    order = [c for c in (known or sorted(codes - {TOTAL})) if c in codes]
    order += sorted(codes - set(order) - {TOTAL})
    return order + ([TOTAL] if TOTAL in codes else [])


def measure_header(cube: str, measure: str) -> str:
    m = load_model().cubes[cube].measures[measure]
    return f"{_(m.description)} ({_(m.unit)})"


def dimension_header(dim: str) -> str:
    return _(load_model().dimensions[dim].description).split(" (")[0]


def pivot_choices(dims: list[str]) -> list[str]:
    """Dimensions that can be spread across the columns (any chosen one)."""
    return list(dims)


def tabulate(result: Result, across: str | None = None) -> Table:
    """The answer as a table: one row per area (and category), or with the ``across`` dimension's
    members as columns — a cross-tabulation, the way statistical offices publish."""
    model = load_model()
    dims = list((result.query or {}).get("dimensions", []))
    measures = [c for c in result.columns if c in model.cubes[result.cube].measures]
    geo = {g.column: g for g in model.geography}
    code_col = next((c for c in result.columns if c in geo), None)
    name_col = code_col.replace("_code", "_name") if code_col else None
    level = geo[code_col].name if code_col else None
    code_header, name_header = LEVEL_HEADERS.get(level, (N_("Area code"), N_("Area")))
    units = {m: model.cubes[result.cube].measures[m].unit for m in measures}
    across = across if across in dims else None
    row_dims = [d for d in dims if d != across]

    headers = [_(code_header), _(name_header)]
    kinds = ["code", "name"]
    hunits: list[str | None] = [None, None]
    for d in row_dims:
        headers.append(dimension_header(d))
        kinds.append("category")
        hunits.append(None)
    if across is None:
        value_keys = [(m, None) for m in measures]
    else:
        members = _member_order(across, {r[across] for r in result.rows})
        value_keys = [(m, c) for m in measures for c in members]
    for m, c in value_keys:
        if c is None:
            headers.append(measure_header(result.cube, m))
        elif len(measures) == 1:
            headers.append(_member_label(across, c))
        else:
            headers.append(f"{measure_header(result.cube, m)}: {_member_label(across, c)}")
        kinds.append("value")
        hunits.append(units[m])

    grouped: dict[tuple, dict] = {}
    for r in result.rows:
        key = (r.get(code_col), *(r[d] for d in row_dims))
        entry = grouped.setdefault(key, {"row": r, "values": {}})
        for m in measures:
            entry["values"][(m, r[across] if across else None)] = r.get(m)
    orders = [
        {c: i for i, c in enumerate(_member_order(d, {k[i] for k in grouped}))}
        for i, d in enumerate(row_dims, start=1)
    ]  # areas in code order, categories in the classification's order (PMT bands low to high, …)
    keys = sorted(grouped, key=lambda k: (k[0] or "", *(o[k[i]] for i, o in enumerate(orders, start=1))))
    rows = []
    for key in keys:
        entry = grouped[key]
        english = entry["row"].get(name_col) if name_col else None
        base = [key[0], place_names.text(key[0], english) if english else english]
        base += [_member_label(d, key[i]) for i, d in enumerate(row_dims, start=1)]
        rows.append(base + [entry["values"].get(k) for k in value_keys])
    return Table(headers, kinds, hunits, rows)


def _about(result: Result) -> list[str]:
    return [
        translated(
            "NSER Insight, registry as of {date}, snapshot {id}", date=result.as_of, id=result.snapshot_id
        ),
        *result.notes,
        _(SUPPRESSED_NOTE),
    ]


def to_csv(result: Result, across: str | None = None) -> str:
    """CSV of exactly the table shown, under comment lines (#) with the snapshot and the protection notes."""
    head = "".join(f"# {line}\n" for line in _about(result))
    return head + tabulate(result, across).frame().to_csv(index=False)


def to_xlsx(result: Result, across: str | None = None) -> bytes:
    buf = io.BytesIO()
    with pd.ExcelWriter(buf, engine="openpyxl") as xl:
        tabulate(result, across).frame().to_excel(xl, sheet_name="data", index=False)
        pd.DataFrame({"about": _about(result)}).to_excel(xl, sheet_name="about", index=False)
    return buf.getvalue()
