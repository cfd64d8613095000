"""Cubes as data: dimensions, measures and tier rules read from YAML and validated at load.

A typo in a cube file (unknown key, a dimension that does not exist, a member without a description, a
measure that points at a secret column) fails at start-up with the file and the place named, never
later inside a query. The rest of the gateway works only with these frozen objects.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import yaml

from data.catalogue import load_catalogue

CUBES_DIR = Path(__file__).resolve().parent
TIERS = ("public", "business", "mis")
MEASURE_TYPES = ("count", "share", "sum", "mean", "min", "max")
IDENTIFIER = re.compile(r"\b([a-z_][a-z0-9_]*)\b")
SQL_WORDS = {
    "case",
    "when",
    "then",
    "else",
    "end",
    "and",
    "or",
    "not",
    "in",
    "is",
    "null",
    "between",
    "true",
    "false",
    "like",
    "varchar",
    "integer",
    "double",
    "cast",
    "as",
    "coalesce",
    "least",
    "greatest",
    "abs",
}


class CubeError(ValueError):
    """A cube, dimension or tier file is malformed; the message names the file and the place."""


@dataclass(frozen=True)
class Member:
    code: str
    label: str
    description: str


@dataclass(frozen=True)
class Dimension:
    name: str
    description: str
    expression: str
    level: str  # household | person
    members: tuple[Member, ...] | None  # None: members come from the data (e.g. quarters)

    def member_codes(self) -> list[str] | None:
        return None if self.members is None else [m.code for m in self.members]


@dataclass(frozen=True)
class GeoLevel:
    name: str
    column: str
    description: str


@dataclass(frozen=True)
class Measure:
    name: str
    type: str
    description: str
    unit: str
    filter: str | None = None
    column: str | None = None
    numerator: str | None = None
    denominator: str | None = None
    tiers: tuple[str, ...] = TIERS

    @property
    def is_magnitude(self) -> bool:
        return self.type in ("sum", "mean", "min", "max")


@dataclass(frozen=True)
class TierRule:
    lowest_geography: str


@dataclass(frozen=True)
class Forbidden:
    dimensions: tuple[str, ...]
    geography: tuple[str, ...]
    tiers: tuple[str, ...]


@dataclass(frozen=True)
class Cube:
    name: str
    title: str
    description: str
    source: str
    unit: str  # household | person
    where: str | None
    dimensions: tuple[str, ...]
    measures: dict[str, Measure]
    tiers: dict[str, TierRule]
    forbidden: tuple[Forbidden, ...] = ()

    def count_measures(self) -> list[Measure]:
        return [m for m in self.measures.values() if m.type == "count"]

    def magnitude_measures(self) -> list[Measure]:
        return [m for m in self.measures.values() if m.is_magnitude]


@dataclass(frozen=True)
class Model:
    """Everything the gateway knows about cubes: geography, dimensions, cubes and tier policy."""

    geography: tuple[GeoLevel, ...]
    dimensions: dict[str, Dimension]
    cubes: dict[str, Cube]
    policy: dict
    ptable_path: Path
    files: tuple[Path, ...] = field(default=())

    def geo_level(self, name: str) -> GeoLevel:
        for g in self.geography:
            if g.name == name:
                return g
        raise KeyError(name)

    def geo_rank(self, name: str) -> int:
        """0 for province … 4 for union council: larger is finer."""
        return [g.name for g in self.geography].index(name)

    def tier(self, name: str) -> dict:
        return self.policy["tiers"][name]


def _check_keys(where: str, spec: dict, allowed: set[str], required: set[str]) -> None:
    if not isinstance(spec, dict):
        raise CubeError(f"{where}: expected a mapping, got {type(spec).__name__}")
    unknown = set(spec) - allowed
    if unknown:
        raise CubeError(f"{where}: unknown keys {sorted(unknown)}")
    missing = [k for k in sorted(required) if spec.get(k) in (None, "", [])]
    if missing:
        raise CubeError(f"{where}: missing {', '.join(missing)}")


def _columns_used(expr: str) -> set[str]:
    text = re.sub(r"'[^']*'", "", expr.lower())
    return {t for t in IDENTIFIER.findall(text) if t not in SQL_WORDS and not t.isdigit()}


def _check_expression(where: str, expr: str, table: str) -> None:
    """Expressions may only use the source table's columns, and never a secret or internal one."""
    cat = load_catalogue()
    cols = cat.tables[table].columns
    for name in _columns_used(expr):
        if name not in cols:
            raise CubeError(f"{where}: {name!r} is not a column of {table}")
        if cols[name].is_secret:
            raise CubeError(f"{where}: {name!r} is {cols[name].classification} and cannot be used in a cube")


def parse_dimensions(
    raw: dict, where: str = "dimensions.yaml"
) -> tuple[tuple[GeoLevel, ...], dict[str, Dimension]]:
    _check_keys(where, raw, {"version", "geography", "dimensions"}, {"geography", "dimensions"})
    geo = raw["geography"]
    _check_keys(f"{where} geography", geo, {"description", "levels"}, {"levels"})
    levels = []
    for i, lv in enumerate(geo["levels"]):
        _check_keys(
            f"{where} geography level {i + 1}",
            lv,
            {"name", "column", "description"},
            {"name", "column", "description"},
        )
        levels.append(GeoLevel(lv["name"], lv["column"], lv["description"]))
    dims: dict[str, Dimension] = {}
    for name, spec in raw["dimensions"].items():
        w = f"{where} dimension {name}"
        _check_keys(
            w,
            spec,
            {"description", "level", "expression", "members"},
            {"description", "level", "expression", "members"},
        )
        if spec["level"] not in ("household", "person"):
            raise CubeError(f"{w}: level must be household or person, not {spec['level']!r}")
        members = None
        if spec["members"] != "from_data":
            members = []
            for code, m in spec["members"].items():
                _check_keys(f"{w} member {code}", m, {"label", "description"}, {"label", "description"})
                members.append(Member(str(code), str(m["label"]), str(m["description"])))
            members = tuple(members)
        dims[name] = Dimension(name, spec["description"], spec["expression"], spec["level"], members)
    return tuple(levels), dims


def parse_cube(raw: dict, dims: dict[str, Dimension], geo: tuple[GeoLevel, ...], where: str) -> Cube:
    _check_keys(
        where,
        raw,
        {
            "name",
            "title",
            "description",
            "source",
            "unit",
            "where",
            "dimensions",
            "measures",
            "tiers",
            "forbidden_combinations",
        },
        {"name", "title", "description", "source", "unit", "dimensions", "measures", "tiers"},
    )
    source = raw["source"]
    cat = load_catalogue()
    if source not in cat.tables:
        raise CubeError(f"{where}: source {source!r} is not a warehouse table")
    if raw["unit"] not in ("household", "person"):
        raise CubeError(f"{where}: unit must be household or person")
    if raw.get("where"):
        _check_expression(f"{where} where", raw["where"], source)
    for d in raw["dimensions"]:
        if d not in dims:
            raise CubeError(f"{where}: dimension {d!r} is not defined in dimensions.yaml")
        if raw["unit"] == "household" and dims[d].level == "person":
            raise CubeError(f"{where}: person dimension {d!r} cannot be used in a household cube")
        _check_expression(f"{where} dimension {d}", dims[d].expression, source)
    for lv in geo:
        if lv.name == "national":
            continue  # a constant, added by the builder and the gateway
        if lv.column not in cat.tables[source].columns:
            raise CubeError(f"{where}: source {source!r} has no geography column {lv.column!r}")
    measures: dict[str, Measure] = {}
    for name, m in raw["measures"].items():
        w = f"{where} measure {name}"
        _check_keys(
            w,
            m,
            {"type", "description", "unit", "filter", "column", "numerator", "denominator", "tiers"},
            {"type", "description", "unit"},
        )
        if m["type"] not in MEASURE_TYPES:
            raise CubeError(f"{w}: type must be one of {MEASURE_TYPES}")
        if m.get("filter"):
            _check_expression(w, m["filter"], source)
        if m["type"] in ("sum", "mean", "min", "max"):
            if not m.get("column"):
                raise CubeError(f"{w}: a {m['type']} needs a column")
            _check_expression(w, m["column"], source)
        tiers = tuple(m.get("tiers") or TIERS)
        if set(tiers) - set(TIERS):
            raise CubeError(f"{w}: unknown tiers {sorted(set(tiers) - set(TIERS))}")
        if m["type"] in ("min", "max") and tiers != ("mis",):
            raise CubeError(f"{w}: min and max reveal single records and are for the mis tier only")
        measures[name] = Measure(
            name,
            m["type"],
            m["description"],
            m["unit"],
            m.get("filter"),
            m.get("column"),
            m.get("numerator"),
            m.get("denominator"),
            tiers,
        )
    for m in measures.values():
        if m.type == "share":
            for part in (m.numerator, m.denominator):
                if part not in measures or measures[part].type != "count":
                    raise CubeError(f"{where} measure {m.name}: {part!r} is not a count measure of this cube")
    counts = [m for m in measures.values() if m.type == "count"]
    if not counts or counts[0].filter:
        raise CubeError(
            f"{where}: the first count measure must count every record (no filter); it is the base "
            "the household rule and magnitudes are checked against"
        )
    tier_rules: dict[str, TierRule] = {}
    names = [g.name for g in geo]
    for t, spec in raw["tiers"].items():
        if t not in TIERS:
            raise CubeError(f"{where}: unknown tier {t!r}")
        _check_keys(f"{where} tier {t}", spec, {"lowest_geography"}, {"lowest_geography"})
        if spec["lowest_geography"] not in names:
            raise CubeError(f"{where} tier {t}: unknown geography level {spec['lowest_geography']!r}")
        tier_rules[t] = TierRule(spec["lowest_geography"])
    forbidden = []
    for i, f in enumerate(raw.get("forbidden_combinations") or []):
        w = f"{where} forbidden combination {i + 1}"
        _check_keys(w, f, {"dimensions", "geography", "tiers"}, {"dimensions"})
        for d in f["dimensions"]:
            if d not in raw["dimensions"]:
                raise CubeError(f"{w}: {d!r} is not a dimension of this cube")
        for g in f.get("geography") or []:
            if g not in names:
                raise CubeError(f"{w}: unknown geography level {g!r}")
        forbidden.append(
            Forbidden(
                tuple(f["dimensions"]),
                tuple(f.get("geography") or names),
                tuple(f.get("tiers") or ("public", "business")),
            )
        )
    return Cube(
        raw["name"],
        raw["title"],
        raw["description"],
        source,
        raw["unit"],
        raw.get("where"),
        tuple(raw["dimensions"]),
        measures,
        tier_rules,
        tuple(forbidden),
    )


def _load_yaml(path: Path) -> dict:
    try:
        with open(path, encoding="utf-8") as fh:
            return yaml.safe_load(fh)
    except yaml.YAMLError as exc:
        raise CubeError(f"{path.name}: not valid YAML: {exc}") from exc


@cache
def load_model(directory: Path = CUBES_DIR) -> Model:
    """Read and validate dimensions.yaml, tiers.yaml and every other *.yaml cube file in ``directory``."""
    geo, dims = parse_dimensions(_load_yaml(directory / "dimensions.yaml"))
    policy = _load_yaml(directory / "tiers.yaml")
    _check_keys(
        "tiers.yaml",
        policy,
        {"version", "ptable", "geography_order", "tiers", "sparsity", "magnitude", "shares"},
        {"ptable", "tiers", "sparsity", "magnitude", "shares"},
    )
    if set(policy["tiers"]) != set(TIERS):
        raise CubeError(f"tiers.yaml: tiers must be exactly {TIERS}")
    for t, spec in policy["tiers"].items():
        _check_keys(
            f"tiers.yaml tier {t}",
            spec,
            {
                "description",
                "protected",
                "threshold",
                "household_threshold",
                "rounding_base",
                "univariate_lowest_geography",
                "approved_report_lowest_geography",
                "min_area_households",
                "max_variables",
                "max_cells",
                "magnitudes",
            },
            {"description", "max_variables", "max_cells", "magnitudes"},
        )
    cubes: dict[str, Cube] = {}
    files = []
    for path in sorted(directory.glob("*.yaml")):
        if path.name in ("dimensions.yaml", "tiers.yaml"):
            continue
        cube = parse_cube(_load_yaml(path), dims, geo, path.name)
        if cube.name in cubes:
            raise CubeError(f"{path.name}: cube {cube.name!r} is defined twice")
        if cube.name != path.stem:
            raise CubeError(f"{path.name}: cube name {cube.name!r} must match the file name")
        cubes[cube.name] = cube
        files.append(path)
    if not cubes:
        raise CubeError(f"no cube files in {directory}")
    return Model(geo, dims, cubes, policy, directory / policy["ptable"]["file"], tuple(files))
