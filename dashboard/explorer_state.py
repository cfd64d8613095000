"""The explorer's state ↔ URL query string ↔ gateway query. Pure functions, tested on their own.

URL keys: ``cube``, ``m`` (measures, comma-separated), ``d`` (dimensions), ``level``, ``area`` (a province,
district or tehsil code that narrows the areas), ``chart``, ``totals`` (1), ``f`` (filters as
``dim:member`` comma-separated), ``cols`` (the dimension spread across the table's columns; by default
the last one chosen, ``none`` for one row per cell).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import parse_qs, urlencode

from cubes.model import load_model
from dashboard.i18n import N_
from data import geography

CHARTS = ("table", "bar", "stacked", "pyramid", "map")
LEVELS = ("national", "province", "division", "district", "tehsil", "union_council")


@dataclass
class State:
    cube: str = "households"
    measures: list[str] = field(default_factory=lambda: ["households"])
    dims: list[str] = field(default_factory=list)
    level: str = "province"
    area: str | None = None
    chart: str = "bar"
    totals: bool = False
    filters: list[str] = field(default_factory=list)  # "dim:member"
    across: str | None = None  # the dimension whose members become the table's columns


def parse(search: str | None) -> State:
    """State from a URL query string; unknown or invalid parts fall back to sensible defaults."""
    q = parse_qs((search or "").lstrip("?"))
    one = lambda k, default=None: (q.get(k) or [default])[0]  # noqa: E731
    many = lambda k: [x for x in (one(k, "") or "").split(",") if x]  # noqa: E731
    model = load_model()
    s = State()
    cube = one("cube", s.cube)
    if cube in model.cubes:
        s.cube = cube
    c = model.cubes[s.cube]
    s.measures = [m for m in many("m") if m in c.measures] or [c.count_measures()[0].name]
    s.dims = [d for d in many("d") if d in c.dimensions]
    level = one("level", s.level)
    s.level = level if level in LEVELS else "province"
    area = one("area")
    s.area = area if area and _area_level(area) else None
    chart = one("chart", s.chart)
    s.chart = chart if chart in CHARTS else "bar"
    s.totals = one("totals") == "1"
    s.filters = [f for f in many("f") if ":" in f and f.split(":", 1)[0] in s.dims]
    cols = one("cols")
    s.across = None if cols == "none" or not s.dims else (cols if cols in s.dims else s.dims[-1])
    return s


def serialize(s: State) -> str:
    params = {"cube": s.cube, "m": ",".join(s.measures)}
    if s.dims:
        params["d"] = ",".join(s.dims)
    params["level"] = s.level
    if s.area:
        params["area"] = s.area
    params["chart"] = s.chart
    if s.totals:
        params["totals"] = "1"
    if s.filters:
        params["f"] = ",".join(s.filters)
    if s.dims and s.across != s.dims[-1]:
        params["cols"] = s.across or "none"
    return "?" + urlencode(params, safe=",:")


def _area_level(code: str) -> str | None:
    if code in set(geography.provinces().province_code):
        return "province"
    if code in set(geography.districts().district_code):
        return "district"
    if code in set(geography.tehsils().tehsil_code):
        return "tehsil"
    return None


def to_query(s: State) -> tuple[dict | None, str | None]:
    """The gateway query for a state, or a plain-language reason why the state cannot be asked (in
    English, marked for translation: the page shows it through ``_()``)."""
    geo: dict = {"level": s.level}
    if s.area:
        order = list(LEVELS)
        if order.index(s.level) < order.index(_area_level(s.area)):
            return None, N_(
                "The chosen area is smaller than the geography level: choose a finer level (for example "
                "tehsils) or clear the area."
            )
        if order.index(s.level) == order.index(_area_level(s.area)):
            geo["codes"] = [s.area]
        else:
            geo["within"] = s.area
    filters: dict[str, list[str]] = {}
    for f in s.filters:
        dim, member = f.split(":", 1)
        filters.setdefault(dim, []).append(member)
    q = {"cube": s.cube, "measures": list(s.measures), "dimensions": list(s.dims), "geography": geo}
    if filters:
        q["filters"] = filters
    if s.totals:
        q["totals"] = True
    return q, None
