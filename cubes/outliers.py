"""Outlier households (BISP plan §9.1): scores far from what the household's own indicators imply.

A PMT score is a weighted sum of a household's indicators (dwelling, amenities, assets, land,
livestock, schooling, literacy, dependants, salaried earners). A household whose recorded score is far
from the sum its recorded indicators give is either a data-entry error, a stale score, or a case for a
field visit: that is what the MIS team is asked to find and clean. So the implied score is recomputed
here in SQL with the weights of ``data/synthetic.yaml`` (the formula the registry's scores come from,
without its noise), the gap between recorded and implied is compared with the gaps of the other
households of the district by a robust z-score (median and MAD, so the outliers themselves cannot hide
by inflating the spread), and the few households past a threshold are kept in the cube file with a
plain-language reason. The formula is written twice, here and in the generator; the tests recompute
the generator's noise from its seed and require every unclipped score back exactly. For a real extract
the weights are still synthetic.yaml's, not BISP's own: the district median absorbs a uniform shift,
but a formula that differs term by term shows up as spread, and there the weights must be replaced.

Scale: at 35 million households everything up to the threshold runs in DuckDB (spilling to disk when
it must); only the kept households (about 0.05 % of a well-behaved registry) come to Python, to word
their reasons. The reasons name the two or three parts of the formula where the household differs
most from an average household of the same area, with what each part adds to its implied score:
that is what sets it apart, whereas the parts every household has (electric lighting, a phone) would
only repeat the formula.

Only the cube builder calls ``build_outliers``; the table is read through ``Gateway.outliers``,
MIS tier only, because its rows identify households.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import duckdb
import pandas as pd

from cubes.rollups import NATIONAL_CODE
from data.calibration import EDUCATION_YEARS
from data.synthetic import load_config

THRESHOLD = 3.5  # |z| from which a household is kept (Iglewicz and Hoaglin's cut-off for modified z)
MIN_HOUSEHOLDS = 50  # fewer scored households in a district: compare with its province (or the country)
MAD_TO_SD = 1.4826  # MAD × this estimates the standard deviation of normal data
MEAN_AD_TO_SD = 1.2533  # the same for the mean absolute deviation, used when the MAD is 0
GEOGRAPHY = ("province_code", "division_code", "district_code", "tehsil_code")


class MissingColumns(ValueError):
    """The snapshot lacks columns the PMT formula needs; the message names each one and what needs it."""


# -- the formula -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Term:
    """One term of the PMT formula: its weight's name in synthetic.yaml and its indicator in SQL.

    ``sql`` reads household columns and the member counts of ``MEMBER_COUNTS`` by bare name; the
    definitions follow ``SyntheticBuilder.stage_households`` exactly (caps included). ``group`` joins
    the terms of one categorical column (pakka and semi-pakka are one dwelling) for the reasons.
    """

    weight: str
    sql: str
    group: str
    columns: tuple[str, ...] = ()  # household columns read
    counts: tuple[str, ...] = ()  # member counts read


# Member counts per household: name → (members counted, member columns read).
MEMBER_COUNTS = {
    "n_adults": ("age >= 15", ("age",)),
    "n_literate_adults": ("age >= 15 AND is_literate", ("age", "is_literate")),
    "n_dependants": ("age < 15 OR age > 64", ("age",)),
    "n_working_age": ("age BETWEEN 15 AND 64", ("age",)),
    "n_salaried": ("employment_type IN ('government', 'private_salaried')", ("employment_type",)),
    "n_male_earners": ("gender = 'male' AND employment_status = 'employed'", ("gender", "employment_status")),
}
ASSETS = ("refrigerator", "television", "washing_machine", "air_conditioner", "motorcycle", "car", "computer")
_years = " ".join(f"WHEN '{k}' THEN {v}" for k, v in EDUCATION_YEARS.items())
TERMS = (
    Term("structure_pakka", "(dwelling_structure = 'pakka')::INT", "dwelling", ("dwelling_structure",)),
    Term(
        "structure_semi_pakka",
        "(dwelling_structure = 'semi_pakka')::INT",
        "dwelling",
        ("dwelling_structure",),
    ),
    Term(
        "rooms_per_person",
        "least(rooms::DOUBLE / greatest(1, household_size), 2.0)",
        "rooms",
        ("rooms", "household_size"),
    ),
    Term("toilet_flush", "(toilet = 'flush')::INT", "toilet", ("toilet",)),
    Term("toilet_non_flush", "(toilet = 'non_flush')::INT", "toilet", ("toilet",)),
    Term("water_improved", "(water_source <> 'unimproved')::INT", "water", ("water_source",)),
    Term("lighting_electricity", "(lighting = 'electricity')::INT", "lighting", ("lighting",)),
    Term("lighting_solar", "(lighting = 'solar')::INT", "lighting", ("lighting",)),
    Term("cooking_gas_pipeline", "(cooking_fuel = 'gas_pipeline')::INT", "cooking", ("cooking_fuel",)),
    Term("cooking_lpg", "(cooking_fuel = 'lpg')::INT", "cooking", ("cooking_fuel",)),
    *(Term(a, f"has_{a}::INT", a, (f"has_{a}",)) for a in ASSETS),
    Term("log_land_acres", "ln(1 + land_acres)", "land", ("land_acres",)),
    Term(
        "log_livestock",
        "ln(1 + cattle + buffalo + goats_sheep / 5.0)",
        "livestock",
        ("cattle", "buffalo", "goats_sheep"),
    ),
    Term(
        "head_years_schooling", f"(CASE head_education {_years} ELSE 0 END)", "schooling", ("head_education",)
    ),
    Term(
        "literate_adult_share",
        "n_literate_adults::DOUBLE / greatest(1, n_adults)",
        "literacy",
        counts=("n_literate_adults", "n_adults"),
    ),
    Term(
        "dependency_ratio",
        "least(4.0, n_dependants::DOUBLE / greatest(1, n_working_age))",
        "dependants",
        counts=("n_dependants", "n_working_age"),
    ),
    Term("salaried_earners", "least(3, n_salaried)", "salaried", counts=("n_salaried",)),
    Term(
        "female_head_no_earner",
        "(head_gender = 'female' AND n_male_earners = 0)::INT",
        "female_head",
        ("head_gender",),
        ("n_male_earners",),
    ),
)


def formula(config: dict | None = None) -> tuple[float, list[tuple[Term, float]]]:
    """The intercept and (term, weight) pairs of the PMT formula in synthetic.yaml.

    A weight without a term here means the generator's formula changed and this module did not follow:
    that fails loudly rather than score every household against a different formula."""
    pmt = (config or load_config())["pmt"]
    by_name = {t.weight: t for t in TERMS}
    unknown = sorted(set(pmt["weights"]) - set(by_name))
    if unknown:
        raise ValueError(
            f"synthetic.yaml pmt.weights {unknown} have no indicator in cubes/outliers.py; "
            "define them there as data/synthetic.py computes them"
        )
    return float(pmt["intercept"]), [(by_name[w], float(v)) for w, v in pmt["weights"].items()]


def groups(config: dict | None = None) -> list[str]:
    """The explained parts of the formula, in formula order."""
    return list(dict.fromkeys(t.group for t, _ in formula(config)[1]))


def required_columns(config: dict | None = None) -> dict[str, dict[str, str]]:
    """Per warehouse table, each column the implied score reads → what reads it."""
    need = {
        "households": {c: "the outliers table" for c in ("household_id", "pmt_score", *GEOGRAPHY)},
        "members": {"household_id": "member counts"},
    }
    for term, _ in formula(config)[1]:
        for c in term.columns:
            need["households"].setdefault(c, f"the PMT term {term.weight}")
        for n in term.counts:
            for c in MEMBER_COUNTS[n][1]:
                need["members"].setdefault(c, f"the PMT term {term.weight}")
    return need


def check_columns(con: duckdb.DuckDBPyConnection, database: str = "wh", config: dict | None = None) -> None:
    """Raise MissingColumns naming every column the formula needs that the snapshot lacks."""
    have = {
        (t, c)
        for t, c in con.execute(
            "SELECT table_name, column_name FROM duckdb_columns() WHERE database_name = ?", [database]
        ).fetchall()
    }
    missing = [
        f"{table}.{col} (for {why})"
        for table, cols in required_columns(config).items()
        for col, why in cols.items()
        if (table, col) not in have
    ]
    if missing:
        raise MissingColumns(
            "outliers not computed: the snapshot lacks "
            + ", ".join(missing)
            + "; the implied PMT score needs every indicator of the formula"
        )


def member_counts_sql(members: str = "wh.members", only: str | None = None) -> str:
    """SELECT of the member counts the formula uses, one row per household with members."""
    where = f"WHERE household_id IN ({only})" if only else ""
    counts = ", ".join(
        f"count(*) FILTER (WHERE {flt})::SMALLINT AS {n}" for n, (flt, _) in MEMBER_COUNTS.items()
    )
    return f"SELECT household_id, {counts} FROM {members} {where} GROUP BY household_id"


def implied_pmt_sql(
    households: str = "wh.households",
    members: str = "wh.members",
    member_counts: str | None = None,
    only: str | None = None,
    config: dict | None = None,
) -> str:
    """SELECT of every household's implied score: the PMT formula of synthetic.yaml without its noise.

    Columns: household_id, geography, pmt_score, the indicator columns read, the member counts, one
    ``c__<weight>`` per term (weight × indicator), one ``g__<group>`` per explained part (sum of its
    terms) and ``implied_score`` (clipped to 0–100 like the score). ``member_counts`` names a table
    from ``member_counts_sql`` to reuse instead of aggregating the members again; ``only`` is a
    subquery of household ids to limit both sides to.
    """
    intercept, terms = formula(config)
    cols = list(dict.fromkeys(c for t, _ in terms for c in t.columns))
    counts = list(MEMBER_COUNTS)
    source = member_counts or f"({member_counts_sql(members, only)})"
    where = f"WHERE h.household_id IN ({only})" if only else ""
    base = ", ".join(
        [
            "h.household_id",
            *(f"h.{g}" for g in GEOGRAPHY),
            "h.pmt_score",
            *(f"h.{c}" for c in cols),
            *(f"coalesce(m.{n}, 0) AS {n}" for n in counts),
        ]
    )
    contributions = ", ".join(f"{w!r} * ({t.sql}) AS c__{t.weight}" for t, w in terms)
    parts: dict[str, list[str]] = {}
    for t, _ in terms:
        parts.setdefault(t.group, []).append(f"c__{t.weight}")
    grouped = ", ".join(f"({' + '.join(cs)}) AS g__{g}" for g, cs in parts.items())
    total = " + ".join(f"c__{t.weight}" for t, _ in terms) or "0"
    return f"""
WITH base AS (
  SELECT {base}
  FROM {households} h LEFT JOIN {source} m ON m.household_id = h.household_id {where}
), terms AS (SELECT base.*, {contributions} FROM base)
SELECT terms.*, {grouped}, greatest(0, least(100, {intercept!r} + {total})) AS implied_score FROM terms
"""


# -- the table ---------------------------------------------------------------------------------------


def build_outliers(
    con: duckdb.DuckDBPyConnection,
    into: str = "cubes_db",
    source: str = "wh",
    threshold: float = THRESHOLD,
    min_households: int = MIN_HOUSEHOLDS,
    config: dict | None = None,
) -> dict:
    """Write ``<into>.outliers``: households with |z| ≥ threshold, with reasons; returns counts and time.

    z is the robust z-score of gap = pmt_score − implied_score among the households of the district:
    (gap − median) / (1.4826 × MAD), with 1.2533 × mean absolute deviation when the MAD is 0 (no z
    when both are). A district with fewer than ``min_households`` scored households is too small for a
    median to mean much, so it is compared with its province, or with the country; ``compared_with``
    says which area each z is against. Raises MissingColumns before any work when the snapshot lacks
    a column the formula needs.
    """
    started = time.perf_counter()
    check_columns(con, source, config)
    names = groups(config)
    hh, mem = f"{source}.households", f"{source}.members"
    temps = ("counts", "scores", "reference", "centre", "basis", "spread", "kept")
    try:
        # One pass over the members, reused by the two passes over the households.
        con.execute(f"CREATE OR REPLACE TEMP TABLE outlier_counts AS {member_counts_sql(mem)}")
        implied = implied_pmt_sql(hh, member_counts="outlier_counts", config=config)
        con.execute(
            f"""
CREATE OR REPLACE TEMP TABLE outlier_scores AS
SELECT household_id, province_code, district_code, pmt_score - implied_score AS gap FROM ({implied})
"""
        )
        # The average household of each district, province and the country, part by part (for reasons).
        area = (
            f"CASE WHEN grouping(district_code) = 0 THEN district_code "
            f"WHEN grouping(province_code) = 0 THEN province_code ELSE '{NATIONAL_CODE}' END"
        )
        con.execute(
            f"""
CREATE OR REPLACE TEMP TABLE outlier_reference AS
SELECT {area} AS area, {", ".join(f"avg(g__{g}) AS a__{g}" for g in names)}
FROM ({implied}) GROUP BY GROUPING SETS ((district_code), (province_code), ())
"""
        )
        con.execute(
            f"""
CREATE OR REPLACE TEMP TABLE outlier_centre AS
SELECT district_code AS area, count(gap) AS n, median(gap) AS med FROM outlier_scores GROUP BY 1
UNION ALL SELECT province_code, count(gap), median(gap) FROM outlier_scores GROUP BY 1
UNION ALL SELECT '{NATIONAL_CODE}', count(gap), median(gap) FROM outlier_scores
"""
        )
        con.execute(
            f"""
CREATE OR REPLACE TEMP TABLE outlier_basis AS
SELECT DISTINCT s.district_code,
  CASE WHEN d.n >= {int(min_households)} THEN s.district_code
       WHEN p.n >= {int(min_households)} THEN s.province_code ELSE '{NATIONAL_CODE}' END AS compared_with
FROM outlier_scores s
JOIN outlier_centre d ON d.area = s.district_code
JOIN outlier_centre p ON p.area = s.province_code
"""
        )
        con.execute(
            """
CREATE OR REPLACE TEMP TABLE outlier_spread AS
SELECT b.compared_with AS area, median(abs(s.gap - c.med)) AS mad, avg(abs(s.gap - c.med)) AS mean_ad
FROM outlier_scores s
JOIN outlier_basis b USING (district_code)
JOIN outlier_centre c ON c.area = b.compared_with
GROUP BY 1
"""
        )
        con.execute(
            f"""
CREATE OR REPLACE TEMP TABLE outlier_kept AS
WITH z AS (
  SELECT s.*, b.compared_with,
    (s.gap - c.med) / CASE WHEN sp.mad > 0 THEN {MAD_TO_SD} * sp.mad
                           WHEN sp.mean_ad > 0 THEN {MEAN_AD_TO_SD} * sp.mean_ad END AS z
  FROM outlier_scores s
  JOIN outlier_basis b USING (district_code)
  JOIN outlier_centre c ON c.area = b.compared_with
  JOIN outlier_spread sp ON sp.area = b.compared_with
)
SELECT household_id, compared_with, z,
  row_number() OVER (PARTITION BY district_code ORDER BY abs(z) DESC, household_id) AS rank_in_district
FROM z WHERE abs(z) >= ?
""",
            [float(threshold)],
        )
        detail = con.execute(
            f"""
SELECT k.z, k.rank_in_district, k.compared_with, i.*, r.* EXCLUDE (area)
FROM outlier_kept k
JOIN ({implied_pmt_sql(hh, member_counts="outlier_counts", only="SELECT household_id FROM outlier_kept", config=config)}) i
  USING (household_id)
JOIN outlier_reference r ON r.area = k.compared_with
"""
        ).df()
        detail["reasons"] = pd.Series(
            [reason(row, names) for row in detail.to_dict("records")], dtype="string"
        )
        con.execute(
            f"""
CREATE OR REPLACE TABLE {into}.outliers (
  household_id BIGINT, province_code VARCHAR, division_code VARCHAR, district_code VARCHAR,
  tehsil_code VARCHAR, pmt_score DOUBLE, implied_score DOUBLE, gap DOUBLE, z DOUBLE,
  rank_in_district INTEGER, compared_with VARCHAR, reasons VARCHAR)
"""
        )
        con.register("outlier_detail", detail)
        try:
            con.execute(
                f"""
INSERT INTO {into}.outliers
SELECT household_id, {", ".join(GEOGRAPHY)}, pmt_score, round(implied_score, 2),
  round(pmt_score - implied_score, 2), round(z, 2), rank_in_district, compared_with, reasons
FROM outlier_detail ORDER BY abs(z) DESC, household_id
"""
            )
        finally:
            con.unregister("outlier_detail")
        households, scored = con.execute("SELECT count(*), count(gap) FROM outlier_scores").fetchone()
    finally:
        for t in temps:
            con.execute(f"DROP TABLE IF EXISTS outlier_{t}")
    return {
        "households": int(households),
        "scored": int(scored),
        "outliers": len(detail),
        "threshold": float(threshold),
        "min_households": int(min_households),
        "seconds": round(time.perf_counter() - started, 1),
    }


# -- reasons -----------------------------------------------------------------------------------------


def _n(x: float, one: str, many: str | None = None) -> str:
    x = float(x)
    return f"{x:g} {one if x == 1 else (many or one + 's')}"


def _asset(name: str, verb: str, article: str = "a") -> Callable[[dict], str]:
    label = name.replace("_", " ")
    return lambda r: f"{verb} {article} {label}" if r[f"has_{name}"] else f"no {label}"


def _livestock(r: dict) -> str:
    animals = [
        _n(r["cattle"], "head of cattle", "head of cattle"),
        _n(r["buffalo"], "buffalo", "buffalo"),
        _n(r["goats_sheep"], "goat or sheep", "goats or sheep"),
    ]
    kept = [a for a, v in zip(animals, (r["cattle"], r["buffalo"], r["goats_sheep"]), strict=True) if v]
    return ", ".join(kept) if kept else "no livestock"


def _schooling(r: dict) -> str:
    years = EDUCATION_YEARS.get(r["head_education"], 0)
    return f"head has {_n(years, 'year')} of schooling" if years else "head has no schooling"


def _literacy(r: dict) -> str:
    if not r["n_adults"]:
        return "no member aged 15 or over"
    if not r["n_literate_adults"]:
        return "no literate adult"
    return f"{r['n_literate_adults']} of {_n(r['n_adults'], 'adult')} literate"


def _dependants(r: dict) -> str:
    if not r["n_dependants"]:
        return "no children under 15 or elderly"
    return (
        f"{_n(r['n_dependants'], 'child or elderly member', 'children or elderly members')} to "
        f"{_n(r['n_working_age'], 'member', 'members')} aged 15–64"
    )


def _female_head(r: dict) -> str:
    if r["head_gender"] == "female" and not r["n_male_earners"]:
        return "female head and no male earner"
    return "has a male earner" if r["n_male_earners"] else "male head"


DWELLING = {"pakka": "pakka house", "semi_pakka": "semi-pakka house", "kacha": "kacha house"}
TOILET = {"flush": "flush toilet", "non_flush": "non-flush toilet", "none": "no toilet"}
LIGHTING = {"electricity": "grid electricity", "solar": "solar lighting", "other": "no electricity or solar"}
COOKING = {
    "gas_pipeline": "cooks on piped gas",
    "lpg": "cooks on LPG",
    "firewood": "cooks on firewood or dung",
    "other": "cooks on other fuel",
}
# Each explained part of the formula → the household's state in plain words.
PHRASES: dict[str, Callable[[dict], str]] = {
    "dwelling": lambda r: DWELLING.get(r["dwelling_structure"], f"{r['dwelling_structure']} house"),
    "rooms": lambda r: f"{_n(r['rooms'], 'room')} for {_n(r['household_size'], 'person', 'people')}",
    "toilet": lambda r: TOILET.get(r["toilet"], f"toilet: {r['toilet']}"),
    "water": lambda r: (
        "unimproved drinking water" if r["water_source"] == "unimproved" else "improved drinking water"
    ),
    "lighting": lambda r: LIGHTING.get(r["lighting"], f"lighting: {r['lighting']}"),
    "cooking": lambda r: COOKING.get(r["cooking_fuel"], f"cooks on {r['cooking_fuel']}"),
    "refrigerator": _asset("refrigerator", "has"),
    "television": _asset("television", "has"),
    "washing_machine": _asset("washing_machine", "has"),
    "air_conditioner": _asset("air_conditioner", "has", "an"),
    "motorcycle": _asset("motorcycle", "owns"),
    "car": _asset("car", "owns"),
    "computer": _asset("computer", "has"),
    "land": lambda r: f"{_n(r['land_acres'], 'acre')} of land" if r["land_acres"] else "no land",
    "livestock": _livestock,
    "schooling": _schooling,
    "literacy": _literacy,
    "dependants": _dependants,
    "salaried": lambda r: _n(r["n_salaried"], "salaried earner") if r["n_salaried"] else "no salaried earner",
    "female_head": _female_head,
}


def reason(row: dict, names: list[str], most: int = 3, least_points: float = 0.5) -> str:
    """Why a household is an outlier, in words: its score, its implied score, and the parts of the
    formula that explain the gap, each with the points it adds to the implied score.

    Parts are chosen by how far the household is from the average household of the area it is compared
    with, in the direction of the gap: a score below its implied one names the parts that raise the
    implied score most above the average (a car, an air conditioner, land), and a score above it names
    those that hold it down most (one room for ten people, no refrigerator, many dependants). Ranking by
    points alone would name what nearly everyone has. ``row`` holds ``z``, ``pmt_score``,
    ``implied_score``, the indicator columns, ``g__<part>`` (the household's points) and ``a__<part>``
    (the area's average points). The first part is always named, further ones when they are at least
    ``least_points`` from the average."""
    below = row["z"] < 0  # the score is below what the indicators imply: name what raises them
    diffs = sorted(((row[f"g__{g}"] - row[f"a__{g}"], g) for g in names), reverse=below)
    if below:  # only what adds points can explain a high implied score
        diffs = [(d, g) for d, g in diffs if d > 0 and row[f"g__{g}"] > 0]
    else:
        diffs = [(d, g) for d, g in diffs if d < 0]
    items = []
    for i, (d, g) in enumerate(diffs[:most]):
        if i and abs(d) < least_points:
            break
        points = row[f"g__{g}"]
        items.append(f"{PHRASES[g](row)} ({points:+.1f})" if abs(points) >= 0.05 else PHRASES[g](row))
    head = f"PMT {row['pmt_score']:.1f} but its indicators imply {'' if below else 'only '}{row['implied_score']:.1f}"
    return f"{head}: {', '.join(items)}" if items else head


__all__ = [
    "MissingColumns",
    "build_outliers",
    "check_columns",
    "implied_pmt_sql",
    "member_counts_sql",
    "reason",
    "required_columns",
]
