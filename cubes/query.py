"""The query a caller sends to the gateway, parsed and shape-checked before any data is touched.

JSON form (see README, "Querying cubes")::

    {"cube": "persons",
     "measures": ["persons", "literacy_rate"],
     "dimensions": ["gender", "age_group"],
     "geography": {"level": "district", "codes": ["PK601", "PK602"]},
     "filters": {"gender": ["female"]},
     "totals": false}

``geography.codes`` narrows the areas shown (default: every area the actor may see), and
``geography.within`` keeps the areas inside one larger area (e.g. the tehsils of a district); ``filters`` keep
only some members of a dimension of the table. Both are applied **after** protection, so a rule that
looks at the whole table cannot be dodged by filtering.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from cubes.model import Model

_QUERY_KEYS = {"cube", "measures", "dimensions", "geography", "filters", "totals"}
_GEO_KEYS = {"level", "codes", "within"}


class QueryError(ValueError):
    """The query is malformed (unknown cube, measure, dimension, member or key); says which."""


@dataclass(frozen=True)
class Query:
    cube: str
    measures: tuple[str, ...]
    dimensions: tuple[str, ...] = ()
    geo_level: str | None = None
    geo_codes: tuple[str, ...] | None = None
    geo_within: str | None = None
    filters: tuple[tuple[str, tuple[str, ...]], ...] = ()
    totals: bool = False

    def filter_map(self) -> dict[str, tuple[str, ...]]:
        return dict(self.filters)

    def canonical(self) -> str:
        """A stable text form: the cache key and what the audit log records."""
        return json.dumps(
            {
                "cube": self.cube,
                "measures": sorted(self.measures),
                "dimensions": list(self.dimensions),
                "geography": {
                    "level": self.geo_level,
                    "codes": sorted(self.geo_codes) if self.geo_codes else None,
                    **({"within": self.geo_within} if self.geo_within else {}),
                },
                "filters": {k: sorted(v) for k, v in sorted(self.filters)},
                "totals": self.totals,
            },
            sort_keys=True,
            separators=(",", ":"),
        )

    def to_json(self) -> dict:
        return json.loads(self.canonical())


def _str_list(where: str, value) -> tuple[str, ...]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) and v for v in value):
        raise QueryError(f"{where} must be a list of names")
    if len(set(value)) != len(value):
        raise QueryError(f"{where} lists a name twice")
    return tuple(value)


def parse_query(raw: dict | str, model: Model) -> Query:
    """Validate the query's shape against the cube model; raises QueryError naming what is wrong."""
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except json.JSONDecodeError as exc:
            raise QueryError(f"the query is not valid JSON: {exc.msg} at position {exc.pos}") from exc
    if not isinstance(raw, dict):
        raise QueryError("the query must be a JSON object")
    unknown = set(raw) - _QUERY_KEYS
    if unknown:
        raise QueryError(f"unknown query keys {sorted(unknown)}; allowed: {sorted(_QUERY_KEYS)}")
    cube_name = raw.get("cube")
    if cube_name not in model.cubes:
        raise QueryError(f"unknown cube {cube_name!r}; cubes: {sorted(model.cubes)}")
    cube = model.cubes[cube_name]
    measures = _str_list("measures", raw.get("measures") or [])
    if not measures:
        raise QueryError("ask for at least one measure")
    for m in measures:
        if m not in cube.measures:
            raise QueryError(f"cube {cube_name} has no measure {m!r}; measures: {sorted(cube.measures)}")
    dims = _str_list("dimensions", raw.get("dimensions") or [])
    for d in dims:
        if d not in cube.dimensions:
            raise QueryError(f"cube {cube_name} has no dimension {d!r}; dimensions: {list(cube.dimensions)}")
    geo = raw.get("geography") or {}
    if not isinstance(geo, dict) or set(geo) - _GEO_KEYS:
        raise QueryError(f"geography must be an object with keys {sorted(_GEO_KEYS)}")
    level = geo.get("level")
    names = [g.name for g in model.geography]
    if level is not None and level not in names:
        raise QueryError(f"unknown geography level {level!r}; levels: {names}")
    codes = None
    if geo.get("codes") is not None:
        if level is None:
            raise QueryError("geography codes need a geography level")
        codes = _str_list("geography codes", geo["codes"])
    within = geo.get("within")
    if within is not None and (not isinstance(within, str) or not within):
        raise QueryError("geography within must be one area code")
    if within is not None and level is None:
        raise QueryError("geography within needs a geography level")
    filters = raw.get("filters") or {}
    if not isinstance(filters, dict):
        raise QueryError("filters must be an object of dimension: [members]")
    parsed_filters = []
    for d, members in sorted(filters.items()):
        if d not in dims:
            raise QueryError(
                f"filter on {d!r}: filters apply to the table's own dimensions; add {d!r} to dimensions"
            )
        values = _str_list(f"filter {d}", members)
        known = model.dimensions[d].member_codes()
        if known is not None:
            bad = [v for v in values if v not in known]
            if bad:
                raise QueryError(f"filter {d}: unknown members {bad}; members: {known}")
        parsed_filters.append((d, values))
    totals = raw.get("totals", False)
    if not isinstance(totals, bool):
        raise QueryError("totals must be true or false")
    return Query(cube_name, measures, dims, level, codes, within, tuple(parsed_filters), totals)


@dataclass(frozen=True)
class Actor:
    """Who asks: tier (public, business, mis), optional geographic scope, and identity for the audit."""

    tier: str
    user: str = "anonymous"
    organisation: str | None = None
    scope: str | None = None  # a geography code the actor is limited to (e.g. a district)
    attributes: dict = field(default_factory=dict, compare=False, hash=False)
