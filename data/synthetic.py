"""Census-calibrated synthetic NSER registry, generated with set-based DuckDB SQL.

Why synthetic: real NSER microdata is secret, yet the product must be built, tested and demonstrated
at national scale. The registry generated here follows the 2023 census district by district and tehsil
by tehsil (households, household size, age × sex, marital status, literacy, schooling, disability,
dwelling and amenities) and the programme rules in ``rules.yaml``; the PMT score is *computed* from the
household's indicators by the proxy-means formula in ``synthetic.yaml``, so slicing by assets or dwelling
shows the relations a real registry has.

How: small tables of per-unit parameters come from ``calibration``; every household and member row is
then produced in SQL. Randomness is a keyed hash of the row id (``hash(id XOR key)``, where the key is
derived from the seed and a per-column salt), so the same seed and size give byte-identical tables
whatever the thread count, and no Python loop ever touches a row.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import duckdb
import numpy as np
import yaml

from data import calibration, geography
from data.catalogue import load_catalogue
from data.derived import (
    beneficiary_member_sql,
    disabled_sql,
    exclusion_sql,
    kafaalat_eligible_sql,
    pmt_band_sql,
    record_key_sql,
)
from data.rules import load_rules

CONFIG_PATH = Path(__file__).with_name("synthetic.yaml")
Progress = Callable[[str], None]


@cache
def load_config(path: Path = CONFIG_PATH) -> dict:
    with open(path, encoding="utf-8") as fh:
        return yaml.safe_load(fh)


def _key(*parts: object) -> int:
    """A 64-bit key from SHA-256 of the parts (seed, salt): independent streams per column."""
    digest = hashlib.sha256(":".join(str(p) for p in parts).encode()).digest()
    return int.from_bytes(digest[:8], "little")


@dataclass
class Random:
    """SQL snippets for reproducible pseudo-random numbers keyed by (seed, salt, row id)."""

    seed: int
    namespace: str = "nser-synthetic-v1"

    def u(self, salt: str, idexpr: str) -> str:
        """Uniform in [0, 1)."""
        k = _key(self.namespace, self.seed, salt)
        return f"((hash(xor(({idexpr})::UBIGINT, {k}::UBIGINT)) >> 11)::DOUBLE / 9007199254740992.0)"

    def normal(self, salt: str, idexpr: str) -> str:
        """Standard normal (Box–Muller)."""
        return (
            f"(sqrt(-2.0 * ln(1.0 - {self.u(salt + '/a', idexpr)})) * "
            f"cos(2.0 * pi() * {self.u(salt + '/b', idexpr)}))"
        )

    def index(self, salt: str, idexpr: str, n: int | str) -> str:
        """Uniform integer in 1..n (for 1-based list indexing)."""
        return f"(1 + floor({self.u(salt, idexpr)} * ({n}))::BIGINT)"


def synthetic_record_key_secret(seed: int) -> bytes:
    """Record-key secret of a synthetic build: derived from the seed so builds are reproducible."""
    return hashlib.sha256(f"nser-synthetic-record-keys:{seed}".encode()).digest()


def _sql_list(values: list[str]) -> str:
    return "[" + ", ".join("'" + v.replace("'", "''") + "'" for v in values) + "]"


# Normal CDF, logistic approximation of Bowling et al. (2009): max error 1.4e-4, and the argument appears
# only twice (a polynomial approximation repeats it a dozen times, which DuckDB evaluates each time).
PHI_MACRO = """
CREATE OR REPLACE TEMP MACRO phi(x) AS 1.0 / (1.0 + exp(-(x) * (1.5976 + 0.070566 * (x) * (x))))
"""


@dataclass
class BuildReport:
    """What a build did: counts and the time and peak memory of each stage."""

    stages: list[tuple[str, float]] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)


class SyntheticBuilder:
    """Generates the registry into an open DuckDB connection (the staging snapshot).

    Households are generated in chunks of ids (2 million by default) so that memory stays bounded at
    national scale and every sort is small; chunks are appended in id order, so the final tables are
    sorted by household (and therefore by geography) without a global sort.
    """

    def __init__(
        self,
        con: duckdb.DuckDBPyConnection,
        households: int,
        seed: int,
        as_of: dt.date,
        progress: Progress | None = None,
        chunk_households: int = 2_000_000,
    ):
        if households < 1000:
            raise ValueError(
                f"--households must be at least 1000 (got {households}): smaller registries "
                "cannot cover every district"
            )
        self.con = con
        self.n = households
        self.seed = seed
        self.as_of = as_of
        self.cfg = load_config()
        self.rules = load_rules()
        self.rnd = Random(seed)
        self.progress = progress or (lambda msg: None)
        self.report = BuildReport()
        self.secret = synthetic_record_key_secret(seed)
        self.chunk = max(1000, int(chunk_households))
        self.lo, self.hi = 1, households

    # -- orchestration ------------------------------------------------------------------------------

    def build(self) -> BuildReport:
        total = self.n
        chunks = [(lo, min(lo + self.chunk - 1, total)) for lo in range(1, total + 1, self.chunk)]
        self._timed("[1/4] reference tables and calibration", self.stage_reference)
        self._timed("[2/4] household index: sizes and member numbering", self.stage_index)
        for i, (lo, hi) in enumerate(chunks, 1):
            self.lo, self.hi = lo, hi
            self._timed(
                f"[3/4] households {lo:,}–{hi:,} (chunk {i}/{len(chunks)}): households, members, programmes",
                self.stage_chunk,
            )
        self._timed("[4/4] clean-up and statistics", self.stage_finish)
        return self.report

    def _timed(self, name: str, fn: Callable[[], None]) -> None:
        start = time.perf_counter()
        self.progress(f"{name} …")
        fn()
        elapsed = time.perf_counter() - start
        self.report.stages.append((name, elapsed))
        self.progress(f"{name}: {elapsed:.1f} s")

    def stage_chunk(self) -> None:
        """Everything below works on one range of household ids; members of a household never cross it."""
        self.stage_households_base()
        self.stage_members_base()
        self.stage_households()
        self.stage_members()
        self.stage_cct()
        self.stage_payments()
        for t in ("hh_base", "mem_base", "hh_agg", "hh_pre", "hh_status", "cct_children"):
            self.sql(f"DROP TABLE IF EXISTS {t}")

    def sql(self, query: str) -> None:
        start = time.perf_counter()
        self.con.execute(query)
        if os.environ.get("NSER_PROFILE_SQL"):
            head = " ".join(query.split())[:70]
            self.progress(f"    {time.perf_counter() - start:6.2f} s  {head}")

    # -- stage 1: small tables ----------------------------------------------------------------------

    def stage_reference(self) -> None:
        cfg = self.cfg
        gaz = geography.gazetteer(cfg["gazetteer_seed"])
        params = calibration.tehsil_parameters(cfg)
        alloc = calibration.allocate_households(self.n, cfg["coverage"], gaz)
        slots, shares = calibration.residual_age_sex(cfg, alloc, params)
        marital = calibration.marital_parameters(cfg, alloc, params, shares)
        norms = calibration.district_age_factor_norms(
            {
                "lit_norm": [(10, 1.18), (25, 1.0), (45, 0.72), (65, 0.5)],
                "dis_norm": [(0, 0.35), (10, 0.7), (40, 1.4), (60, 3.5)],
            }
        )
        weights = (
            alloc.groupby("tehsil_code").hh_count.sum().reindex(params.tehsil_code).fillna(0)
        ).to_numpy()
        self.asset_a = calibration.asset_intercepts(cfg, params, weights + 1e-9)

        units = geography.geo_units(gaz)
        t = geography.tehsils()
        districts = sorted(t.district_code.unique())
        didx = {d: i + 1 for i, d in enumerate(districts)}
        params["district_idx"] = params.district_code.map(didx).astype("int16")
        params["tehsil_idx"] = np.arange(1, len(params) + 1, dtype=np.int32)
        first_digit = self.rules["cnic"]["first_digit"]
        fata = set(self.rules["cnic"]["ex_fata_districts"])
        params["cnic_digit"] = [
            self.rules["cnic"]["ex_fata_digit"] if d in fata else first_digit[p]
            for d, p in zip(params.district_code, params.province_code, strict=True)
        ]
        params = params.merge(marital, on="district_code", how="left").merge(
            norms, on="district_code", how="left"
        )
        names = t.set_index("tehsil_code")
        for col in ("tehsil_name", "district_name", "division_name", "province_name"):
            params[col] = params.tehsil_code.map(names[col])
        slots["district_idx"] = slots.district_code.map(didx).astype("int16")
        tidx = dict(zip(params.tehsil_code, params.tehsil_idx, strict=True))
        alloc["tehsil_idx"] = alloc.tehsil_code.map(tidx).astype("int32")
        alloc["is_urban"] = alloc.urban_rural.eq("urban")
        alloc["village_idx"] = np.arange(1, len(alloc) + 1, dtype=np.int32)

        con = self.con
        con.register("params_df", params)
        con.register(
            "alloc_df",
            alloc[
                [
                    "village_idx",
                    "village_code",
                    "village_name",
                    "uc_code",
                    "uc_name",
                    "tehsil_idx",
                    "is_urban",
                    "hh_start",
                    "hh_count",
                    "longitude",
                    "latitude",
                ]
            ],
        )
        con.register("slots_df", slots[["district_idx", "slot", "age_start", "age_width", "sex"]])
        con.register("units_df", units)
        con.register("schools_df", gaz.schools)
        self.sql("CREATE TEMP TABLE g_tehsil AS SELECT * FROM params_df")
        self.sql("CREATE TEMP TABLE g_village AS SELECT * FROM alloc_df ORDER BY village_idx")
        self.sql("CREATE TEMP TABLE g_slots AS SELECT * FROM slots_df")
        self._create("schools")
        self._create("geo_units")
        self.sql("""INSERT INTO geo_units BY NAME SELECT level, code, name, name_ur, parent_code, province_code,
                    district_code, urban_rural, longitude, latitude FROM units_df
                    ORDER BY CASE level WHEN 'province' THEN 1 WHEN 'division' THEN 2 WHEN 'district' THEN 3
                    WHEN 'tehsil' THEN 4 ELSE 5 END, code""")
        self.sql("INSERT INTO schools BY NAME SELECT * FROM schools_df ORDER BY school_id")
        for name in ("params_df", "alloc_df", "slots_df", "units_df", "schools_df"):
            con.unregister(name)
        self.sql(PHI_MACRO)
        self.report.counts["villages_with_households"] = len(alloc)

    # -- stage 2: households (before members) -------------------------------------------------------

    def stage_households_base(self) -> None:
        r, cfg = self.rnd, self.cfg
        rho = cfg["welfare"]["rho"]
        nm = geography.names()

        def copula(key: str) -> str:
            """Uniform that rises with the household's welfare (Gaussian copula with correlation rho)."""
            k = rho[key]
            return (
                f"phi(({k} * w + {np.sqrt(1 - k * k):.6f} * {r.normal('cop/' + key, 'household_id')})"
                f" / sqrt({k * k:.6f} * w_var + {1 - k * k:.6f}))"
            )

        fam_case = (
            "CASE t.province_code "
            + " ".join(
                f"WHEN '{p}' THEN {_sql_list(v)}[{r.index('family', 'h.household_id', len(v))}]"
                for p, v in nm["family"].items()
            )
            + " END"
        )
        assets = self.asset_a
        asset_cols = ",\n".join(
            f"  {r.u('asset/' + k, 'household_id')} < 1 / (1 + exp(-({assets[k]:.6f} + {spec['slope']} * "
            f"(0.6 * welfare_index + 0.8 * w / sqrt(w_var))))) AS has_{k}"
            for k, spec in cfg["assets"].items()
        )
        land = cfg["land"]
        live = cfg["livestock"]
        survey_start = dt.date(2019, 3, 1)
        survey_days = (dt.date(2021, 12, 31) - survey_start).days
        dyn_start = dt.date(2022, 1, 1)
        dyn_days = max(1, (self.as_of - dyn_start).days)

        # One statement, no intermediate sort: DuckDB pipelines the CTEs, and every value is a function
        # of the household id, so row order never changes a value.
        self.sql(f"""
CREATE TEMP TABLE hh_base AS
WITH s AS (
  SELECT i.household_id, i.village_idx, v.uc_code, i.tehsil_idx, i.is_urban, v.longitude AS v_lon,
    v.latitude AS v_lat, t.welfare_index, t.province_code, t.district_code,
    t.c_kacha, t.c_semi, t.c_room1, t.c_room2, t.c_room3, t.c_toilet_none, t.c_toilet_nonflush,
    t.c_water_unimproved, t.c_water_hand, t.c_water_motor, t.c_water_tap, t.c_water_filter,
    t.c_light_other, t.c_light_solar, t.c_cook_firewood, t.c_cook_other, t.c_cook_lpg,
    t.c_ten_owned, t.c_ten_rented, t.c_ten_free,
    {fam_case.replace("h.household_id", "i.household_id")} AS family_name,
    i.w, i.w_var, i.household_size, i.member_offset
  FROM hh_index i
  JOIN g_village v ON v.village_idx = i.village_idx
  JOIN g_tehsil t ON t.tehsil_idx = i.tehsil_idx
  WHERE i.household_id BETWEEN {self.lo} AND {self.hi}
), d AS (
  SELECT s.*,
    {copula("dwelling_structure")} AS u_struct,
    {copula("rooms")} AS u_rooms,
    {copula("toilet")} AS u_toilet,
    {copula("water_source")} AS u_water,
    {copula("lighting")} AS u_light,
    {copula("cooking_fuel")} AS u_cook,
    {r.u("tenure", "household_id")} AS u_tenure,
{asset_cols}
  FROM s
)
SELECT household_id, village_idx, uc_code, tehsil_idx, is_urban, province_code, district_code, family_name,
  w, w_var, household_size, member_offset,
  least(37.2, greatest(23.5, v_lat + {r.normal("lat", "household_id")} * CASE WHEN is_urban THEN 0.004 ELSE 0.01 END))
    AS latitude,
  least(77.9, greatest(60.8, v_lon + {r.normal("lon", "household_id")} * CASE WHEN is_urban THEN 0.004 ELSE 0.01 END))
    AS longitude,
  CASE WHEN u_struct < c_kacha THEN 'kacha' WHEN u_struct < c_semi THEN 'semi_pakka' ELSE 'pakka' END
    AS dwelling_structure,
  (CASE WHEN u_rooms < c_room1 THEN 1 WHEN u_rooms < c_room2 THEN 2 WHEN u_rooms < c_room3 THEN 3
        ELSE 4 + floor({r.u("rooms4", "household_id")} ^ 2 * 5) END)::TINYINT AS rooms,
  CASE WHEN u_toilet < c_toilet_none THEN 'none' WHEN u_toilet < c_toilet_nonflush THEN 'non_flush'
       ELSE 'flush' END AS toilet,
  CASE WHEN u_water < c_water_unimproved THEN 'unimproved' WHEN u_water < c_water_hand THEN 'hand_pump_well'
       WHEN u_water < c_water_motor THEN 'motor_pump' WHEN u_water < c_water_tap THEN 'tap'
       WHEN u_water < c_water_filter THEN 'filtration_plant' ELSE 'bottled' END AS water_source,
  CASE WHEN u_light < c_light_other THEN 'other' WHEN u_light < c_light_solar THEN 'solar'
       ELSE 'electricity' END AS lighting,
  CASE WHEN u_cook < c_cook_firewood THEN 'firewood' WHEN u_cook < c_cook_other THEN 'other'
       WHEN u_cook < c_cook_lpg THEN 'lpg' ELSE 'gas_pipeline' END AS cooking_fuel,
  CASE WHEN u_tenure < c_ten_owned THEN 'owned' WHEN u_tenure < c_ten_rented THEN 'rented'
       WHEN u_tenure < c_ten_free THEN 'rent_free' ELSE 'other' END AS tenure,
  {", ".join("has_" + k for k in cfg["assets"])},
  CASE WHEN {r.u("land", "household_id")} < (CASE WHEN is_urban THEN {land["own_share"]["urban"]}
        ELSE {land["own_share"]["rural"]} END) * (1 + 0.25 * tanh(w))
    THEN round({land["median_acres"]} * exp(0.9 * {r.normal("acres", "household_id")} + 0.35 * w), 1)
    ELSE 0 END AS land_acres,
  {r.u("livestock", "household_id")} < CASE WHEN is_urban THEN {live["own_share"]["urban"]}
        ELSE {live["own_share"]["rural"]} END AS keeps_livestock,
  {r.u("remit", "household_id")} < {cfg["remittances_share"]} * CASE WHEN province_code IN ('PK1', 'PK5') THEN 2.2
        ELSE 1 END AS receives_remittances,
  CASE WHEN {r.u("round", "household_id")} < 0.85
    THEN DATE '{survey_start}' + floor({r.u("sdate", "household_id")} * {survey_days})::INTEGER
    ELSE DATE '{dyn_start}' + floor({r.u("sdate", "household_id")} * {dyn_days})::INTEGER END AS survey_date,
  {r.u("psc", "household_id")} < CASE WHEN district_code IN ('PK525', 'PK530', 'PK502', 'PK524') THEN 0.6 ELSE 0.82 END
    AS psc2010_surveyed
FROM d
""")

    def stage_index(self) -> None:
        """Every household's size and first member number: the only state shared across chunks."""
        for table in ("households", "members", "cct_enrolments", "payments"):
            self._create(table)
        r, cfg = self.rnd, self.cfg
        a = cfg["welfare"]["urban_shift"]
        hs = cfg["household_size"]
        gap = hs["welfare_corr"]
        self.sql(f"""
CREATE TEMP TABLE hh_sizes AS
WITH s AS (
  SELECT h.household_id, v.village_idx, t.tehsil_idx, v.is_urban,
    CASE WHEN v.is_urban THEN t.size_urban ELSE t.size_rural END AS mean_size,
    {r.normal("latent", "h.household_id")}
      + CASE WHEN v.is_urban THEN {a} * (1 - t.urban_share) ELSE -{a} * t.urban_share END AS w,
    1 + {a * a} * t.urban_share * (1 - t.urban_share) AS w_var
  FROM (SELECT unnest(range(hh_start, hh_start + hh_count)) AS household_id, village_idx FROM g_village) h
  JOIN g_village v USING (village_idx)
  JOIN g_tehsil t ON t.tehsil_idx = v.tehsil_idx
)
SELECT household_id, village_idx, tehsil_idx, is_urban, w, w_var,
  greatest(1, least({hs["max"]}, round(mean_size * (1 + {hs["sd_ratio"]} * ({gap} * w / sqrt(w_var)
    + {np.sqrt(1 - gap * gap):.6f} * {r.normal("size", "household_id")}))))) ::TINYINT AS household_size
FROM s
""")
        # Members are numbered in household order: a running sum gives each household its first number.
        self.sql("""
CREATE TEMP TABLE hh_index AS
SELECT *, (sum(household_size) OVER (ORDER BY household_id) - household_size)::BIGINT AS member_offset
FROM hh_sizes
""")
        self.sql("DROP TABLE hh_sizes")
        self.sql("""
CREATE TEMP TABLE tehsil_member_start AS
SELECT tehsil_idx, min(member_offset) AS first_offset, sum(household_size) AS members
FROM hh_index GROUP BY ALL
""")
        biggest = self.con.execute("SELECT max(members) FROM tehsil_member_start").fetchone()[0]
        if biggest >= 10_000_000:
            raise ValueError(
                f"a tehsil would hold {biggest:,} members; synthetic CNIC serials allow 9,999,999"
            )
        self.sql("""
CREATE TEMP TABLE school_slots AS
SELECT uc_code, row_number() OVER (PARTITION BY uc_code ORDER BY school_id) AS k, school_id,
       count(*) OVER (PARTITION BY uc_code) AS n_schools
FROM schools
""")

    # -- stage 3: members ---------------------------------------------------------------------------

    def stage_members_base(self) -> None:
        r, cfg = self.rnd, self.cfg
        head = cfg["head"]
        bands = head["age_bands"]
        total = sum(b[2] for b in bands)
        cum, acc = [], 0.0
        for lo, hi, p in bands:
            acc += p / total
            cum.append((acc, lo, hi))
        u_hage, u_hage2 = r.u("hage", "household_id"), r.u("hage2", "household_id")
        head_age = (
            "CASE "
            + " ".join(
                f"WHEN {u_hage} < {c:.6f} THEN {lo} + floor({u_hage2} * {hi - lo + 1})"
                for c, lo, hi in cum[:-1]
            )
            + f" ELSE {cum[-1][1]} + floor({u_hage2} ^ 1.6 * {cum[-1][2] - cum[-1][1] + 1}) END"
        )
        u_hmar = r.u("hmarried", "household_id")
        gap_lo, gap_hi = head["spouse_age_gap"]
        mar = cfg["marital"]
        wid = mar["widowed"]
        emp = cfg["employment"]
        kl, ke, kd = (cfg["welfare"]["rho"][k] for k in ("literacy", "enrolment", "education"))
        lit_age = (
            "CASE WHEN age >= 65 THEN 0.5 WHEN age >= 45 THEN 0.72 WHEN age >= 25 THEN 1.0 ELSE 1.18 END"
        )
        dis_age = "CASE WHEN age >= 60 THEN 3.5 WHEN age >= 40 THEN 1.4 WHEN age >= 10 THEN 0.7 ELSE 0.35 END"
        edu_cut = [
            ("below_primary", 0.15),
            ("primary", 0.37),
            ("middle", 0.55),
            ("matric", 0.78),
            ("intermediate", 0.89),
            ("graduate", 0.98),
        ]
        edu_case = (
            "CASE "
            + " ".join(f"WHEN u_edu < {c} THEN '{lvl}'" for lvl, c in edu_cut)
            + " ELSE 'postgraduate' END"
        )
        cap = (
            "CASE WHEN age < 11 THEN 1 WHEN age < 13 THEN 2 WHEN age < 16 THEN 3 WHEN age < 18 THEN 4 "
            "WHEN age < 21 THEN 5 WHEN age < 23 THEN 6 ELSE 7 END"
        )
        lvl_rank = (
            "CASE edu0 WHEN 'below_primary' THEN 1 WHEN 'primary' THEN 2 WHEN 'middle' THEN 3 "
            "WHEN 'matric' THEN 4 WHEN 'intermediate' THEN 5 WHEN 'graduate' THEN 6 ELSE 7 END"
        )
        levels = _sql_list([lvl for lvl, _ in edu_cut] + ["postgraduate"])
        oos = "CASE WHEN gender = 'female' THEN oos_female ELSE oos_male END"
        f_emp = (
            f"CASE WHEN is_urban THEN {emp['female_employed_urban']} ELSE {emp['female_employed_rural']} END"
        )
        educated = "education IN ('matric', 'intermediate', 'graduate', 'postgraduate')"

        def latent(key: str, k: float, sign: str = "") -> str:
            return (
                f"phi({sign}({k} * w + {np.sqrt(1 - k * k):.6f} * {r.normal(key, 'member_id')})"
                f" / sqrt({k * k} * w_var + {1 - k * k:.6f}))"
            )

        self.sql(f"""
CREATE TEMP TABLE mem_base AS
WITH roster AS (
  SELECT b.household_id, b.tehsil_idx, b.uc_code, b.is_urban, b.family_name, b.w, b.w_var, b.household_size,
    b.land_acres, b.member_offset, unnest(range(1, b.household_size + 1))::TINYINT AS line_no
  FROM hh_base b
), x AS (
  SELECT q.* EXCLUDE (member_offset), q.member_offset + q.line_no AS member_id,
    t.district_idx, t.lit_male, t.lit_female, t.lit_all, t.lit_urban_ratio, t.lit_rural_ratio, t.oos_male,
    t.oos_female, t.dis_male, t.dis_female, t.a50_male, t.a50_female, t.lit_norm, t.dis_norm,
    {r.u("hsex", "q.household_id")} < {head["female_share"]} AS head_female,
    ({head_age.replace("household_id", "q.household_id")})::INTEGER AS head_age,
    {u_hmar.replace("household_id", "q.household_id")} AS u_hmar,
    {r.u("spouse", "q.household_id")} < {head["spouse_present"]} AS spouse_present,
    floor({r.u("slot", "q.member_offset + q.line_no")} * {calibration.SLOTS})::INTEGER AS slot
  FROM roster q
  JOIN g_tehsil t ON t.tehsil_idx = q.tehsil_idx
), y AS (
  SELECT x.*,
    CASE WHEN head_female THEN
      CASE WHEN u_hmar < 0.55 THEN 'widowed' WHEN u_hmar < 0.90 THEN 'married' WHEN u_hmar < 0.95 THEN 'divorced'
           WHEN u_hmar < 0.98 THEN 'separated' ELSE 'never_married' END
    ELSE CASE WHEN u_hmar < 0.92 THEN 'married' WHEN u_hmar < 0.97 THEN 'widowed' WHEN u_hmar < 0.98 THEN 'divorced'
           ELSE 'never_married' END END AS head_marital,
    sl.age_start, sl.age_width, sl.sex AS slot_sex
  FROM x JOIN g_slots sl ON sl.district_idx = x.district_idx AND sl.slot = x.slot
), z AS (
  SELECT y.*,
    CASE WHEN line_no = 1 THEN 'head'
         WHEN line_no = 2 AND NOT head_female AND head_marital = 'married' AND spouse_present THEN 'spouse'
         ELSE 'other' END AS role
  FROM y
), p AS (
  SELECT z.* EXCLUDE (age_start, age_width, slot_sex, u_hmar, slot),
    CASE role WHEN 'head' THEN CASE WHEN head_female THEN 'female' ELSE 'male' END
              WHEN 'spouse' THEN 'female' ELSE slot_sex END AS gender,
    (CASE role WHEN 'head' THEN head_age
       WHEN 'spouse' THEN greatest(16, head_age - {gap_lo} - floor({r.u("gap", "member_id")} * {gap_hi - gap_lo + 1}))
       ELSE age_start + floor({r.u("age_in_band", "member_id")} * age_width) END)::TINYINT AS age
  FROM z
), a AS (
  SELECT p.*,
    CASE
      WHEN role = 'head' THEN head_marital
      WHEN role = 'spouse' THEN 'married'
      WHEN age < 15 THEN 'never_married'
      WHEN {r.u("evermarried", "member_id")} >= 1 / (1 + exp(-(age - CASE WHEN gender = 'female' THEN a50_female
            ELSE a50_male END) / CASE WHEN gender = 'female' THEN {mar["k"]["female"]} ELSE {mar["k"]["male"]} END))
        THEN 'never_married'
      WHEN {r.u("widowed", "member_id")} < CASE WHEN gender = 'female' THEN {wid["female"]} ELSE {wid["male"]} END
            / (1 + exp(-(age - {wid["age50"]}) / {wid["k"]})) THEN 'widowed'
      WHEN {r.u("divorced", "member_id")} < {mar["divorced"]} THEN 'divorced'
      WHEN {r.u("divorced", "member_id")} < {mar["divorced"] + mar["separated"]} THEN 'separated'
      ELSE 'married' END AS marital_status,
    -- literacy (10+): tehsil rate by sex and area, with an age gradient normalised per district
    CASE WHEN age < 10 THEN NULL ELSE
      {latent("lit", kl, "-")}
      < least(0.99, (CASE gender WHEN 'male' THEN lit_male WHEN 'female' THEN lit_female ELSE lit_all END)
          * CASE WHEN is_urban THEN lit_urban_ratio ELSE lit_rural_ratio END * ({lit_age}) / lit_norm)
    END AS is_literate,
    {latent("edu", kd)} AS u_edu,
    {latent("enrol", ke, "-")} AS u_enrol,
    {r.u("disability", "member_id")} < least(0.6, (CASE gender WHEN 'male' THEN dis_male WHEN 'female'
        THEN dis_female ELSE (dis_male + dis_female) / 2 END) * ({dis_age}) / dis_norm) AS disabled
  FROM p
), b AS (
  SELECT a.*,
    CASE WHEN age BETWEEN 5 AND 16 THEN u_enrol < 1 - {oos}
         WHEN age = 4 THEN u_enrol < 0.3 * (1 - {oos})
         WHEN age = 17 THEN u_enrol < 0.55 * (1 - {oos})
         WHEN age BETWEEN 18 AND 22 THEN u_enrol < 0.22 * (1 - {oos})
         ELSE false END AND marital_status = 'never_married' AS enrolled
  FROM a
), c AS (
  SELECT b.*,
    CASE WHEN NOT enrolled THEN 'none'
         WHEN age <= 4 THEN 'pre_primary'
         WHEN age <= 16 AND {r.u("madrassa", "member_id")} < 0.05 + 0.05 * (w < -1)::INT THEN 'madrassa'
         WHEN age <= 9 THEN 'primary' WHEN age <= 14 THEN 'secondary' WHEN age <= 17 THEN 'higher_secondary'
         ELSE 'tertiary' END AS school_level
  FROM b
), e AS (
  SELECT c.*,
    CASE WHEN age < 5 THEN 'none'
         WHEN age < 10 THEN CASE WHEN school_level IN ('primary', 'madrassa') AND age >= 7 THEN 'below_primary'
                                 ELSE 'none' END
         WHEN NOT is_literate THEN CASE WHEN {r.u("edu_illit", "member_id")} < 0.08 THEN 'below_primary' ELSE 'none' END
         ELSE {edu_case} END AS edu0
  FROM c
), f AS (
  SELECT e.* EXCLUDE (edu0),
    CASE WHEN edu0 = 'none' OR age < 10 THEN edu0 ELSE {levels}[least({lvl_rank}, {cap})] END AS education,
    {r.u("emp", "member_id")} AS u_emp
  FROM e
), g AS (
  SELECT f.*,
    CASE
      WHEN age < 10 THEN 'child'
      WHEN school_level <> 'none' THEN 'student'
      WHEN gender = 'male' AND age < 15 THEN CASE WHEN u_emp < {emp["child_labour_10_14"]} THEN 'employed'
           ELSE 'not_working' END
      WHEN gender = 'male' AND age < 65 THEN CASE WHEN u_emp < {emp["male_employed_15_64"]} THEN 'employed'
           WHEN u_emp < {emp["male_employed_15_64"] + emp["male_unemployed_15_64"]} THEN 'unemployed'
           ELSE 'not_working' END
      WHEN gender = 'male' THEN CASE WHEN u_emp < 0.35 THEN 'employed' ELSE 'retired' END
      WHEN gender = 'transgender' THEN CASE WHEN u_emp < 0.5 THEN 'employed' WHEN u_emp < 0.6 THEN 'unemployed'
           ELSE 'not_working' END
      WHEN age < 15 THEN CASE WHEN u_emp < {emp["child_labour_10_14"] / 3} THEN 'employed' ELSE 'not_working' END
      WHEN age < 65 THEN CASE WHEN u_emp < {f_emp} THEN 'employed' WHEN u_emp < {f_emp} + 0.02 THEN 'unemployed'
           WHEN marital_status <> 'never_married' THEN 'homemaker' ELSE 'not_working' END
      ELSE CASE WHEN marital_status <> 'never_married' AND u_emp < 0.5 THEN 'homemaker' ELSE 'retired' END
    END AS employment_status,
    {r.u("sector", "member_id")} AS u_sector
  FROM f
), h AS (
  SELECT g.*,
    CASE WHEN employment_status <> 'employed' THEN 'none'
         WHEN gender = 'female' AND NOT is_urban THEN CASE WHEN u_sector < 0.70 THEN 'agriculture'
              WHEN u_sector < 0.82 THEN 'industry' ELSE 'services' END
         WHEN is_urban THEN CASE WHEN u_sector < 0.05 THEN 'agriculture' WHEN u_sector < 0.40 THEN 'industry'
              ELSE 'services' END
         ELSE CASE WHEN u_sector < 0.50 THEN 'agriculture' WHEN u_sector < 0.72 THEN 'industry'
              ELSE 'services' END END AS employment_sector,
    {r.u("etype", "member_id")} AS u_etype,
    {r.u("dis_type", "member_id")} AS u_dtype
  FROM g
)
SELECT member_id, household_id, line_no, tehsil_idx, uc_code, is_urban, role, gender, age, family_name, marital_status, is_literate, education, school_level, employment_status,
  employment_sector,
  CASE
    WHEN employment_sector = 'none' THEN 'none'
    WHEN employment_sector = 'agriculture' THEN CASE
         WHEN land_acres > 0 AND u_etype < 0.65 THEN 'self_employed'
         WHEN land_acres > 0 THEN 'unpaid_family'
         WHEN gender = 'female' AND u_etype < 0.3 THEN 'unpaid_family'
         ELSE 'agricultural_labour' END
    WHEN employment_sector = 'industry' THEN CASE
         WHEN {educated} AND u_etype < 0.55 + 0.15 * tanh(w) THEN 'private_salaried'
         WHEN u_etype < 0.80 THEN 'daily_wage' ELSE 'self_employed' END
    ELSE CASE
         WHEN {educated} AND u_etype < {emp["government_share_of_salaried"]} * (1.4 + 0.4 * tanh(w)) THEN 'government'
         WHEN {educated} AND u_etype < 0.60 THEN 'private_salaried'
         WHEN gender = 'female' AND w < 0 AND u_etype < 0.6 THEN 'domestic_work'
         WHEN u_etype < 0.70 THEN 'self_employed'
         ELSE 'daily_wage' END
  END AS employment_type,
  CASE WHEN NOT disabled THEN 'none' WHEN u_dtype < 0.30 THEN 'walking' WHEN u_dtype < 0.55 THEN 'seeing'
       WHEN u_dtype < 0.70 THEN 'hearing' WHEN u_dtype < 0.82 THEN 'cognition' WHEN u_dtype < 0.90 THEN 'self_care'
       ELSE 'communication' END AS disability,
  CASE WHEN NOT disabled THEN 'none' WHEN {r.u("dis_sev", "member_id")} < 0.7 THEN 'a_lot' ELSE 'cannot' END
    AS disability_severity,
  CASE
    WHEN role IN ('head', 'spouse') THEN role
    WHEN age <= head_age - 40 AND head_age >= 55 THEN 'grandchild'
    WHEN age <= head_age - 15 THEN CASE
         WHEN gender = 'female' AND marital_status <> 'never_married' THEN 'daughter_in_law'
         WHEN gender = 'female' THEN 'daughter' ELSE 'son' END
    WHEN age >= head_age + 15 THEN 'parent'
    WHEN abs(age - head_age) < 15 AND {r.u("rel", "member_id")} < 0.7 THEN 'sibling'
    WHEN {r.u("rel", "member_id")} < 0.97 THEN 'other_relative'
    ELSE 'non_relative' END AS relation,
  head_age
FROM h
""")

    # -- stage 4: households with PMT ---------------------------------------------------------------

    def stage_households(self) -> None:
        r = self.rnd
        pmt = self.cfg["pmt"]
        wt = pmt["weights"]
        cut = self.rules["pmt"]["cutoffs"]
        years = " ".join(f"WHEN '{k}' THEN {v}" for k, v in calibration.EDUCATION_YEARS.items())
        self.sql(f"""
CREATE TEMP TABLE hh_agg AS
SELECT household_id,
  count(*) FILTER (WHERE age < 5)::TINYINT AS n_children_under_5,
  count(*) FILTER (WHERE gender = 'female' AND marital_status <> 'never_married' AND age >= 15)::TINYINT
    AS n_ever_married_women,
  count(*) FILTER (WHERE {disabled_sql()})::TINYINT AS n_disabled,
  count(*) FILTER (WHERE age < 15 OR age > 64) AS n_dependants,
  count(*) FILTER (WHERE age BETWEEN 15 AND 64) AS n_working_age,
  count(*) FILTER (WHERE age >= 15 AND is_literate) AS n_literate_adults,
  count(*) FILTER (WHERE age >= 15) AS n_adults,
  count(*) FILTER (WHERE employment_type IN ('government', 'private_salaried')) AS n_salaried,
  count(*) FILTER (WHERE employment_type = 'government') AS n_government,
  count(*) FILTER (WHERE gender = 'male' AND employment_status = 'employed') AS n_male_earners,
  any_value(member_id) FILTER (WHERE line_no = 1) AS head_member_id,
  any_value(gender) FILTER (WHERE line_no = 1) AS head_gender,
  any_value(age) FILTER (WHERE line_no = 1) AS head_age,
  any_value(education) FILTER (WHERE line_no = 1) AS head_education,
  any_value(employment_status) FILTER (WHERE line_no = 1) AS head_employment
FROM mem_base GROUP BY household_id
""")
        self.sql(f"""
CREATE TEMP TABLE hh_pre AS
WITH s AS (
  SELECT b.*, a.* EXCLUDE (household_id),
    CASE WHEN keeps_livestock THEN floor(2.2 * {r.u("cattle", "b.household_id")} ^ 1.5 * (1 + 0.3 * (w > 0)::INT))
         ELSE 0 END::SMALLINT AS cattle,
    CASE WHEN keeps_livestock THEN floor(2.0 * {r.u("buffalo", "b.household_id")} ^ 2 * (1 + 0.4 * (w > 0)::INT))
         ELSE 0 END::SMALLINT AS buffalo,
    CASE WHEN keeps_livestock THEN floor(9 * {r.u("goats", "b.household_id")} ^ 2) ELSE 0 END::SMALLINT AS goats_sheep
  FROM hh_base b JOIN hh_agg a USING (household_id)
), p AS (
  SELECT s.*,
    greatest(0, least(100, round(
      {pmt["intercept"]}
      + {wt["structure_pakka"]} * (dwelling_structure = 'pakka')::INT
      + {wt["structure_semi_pakka"]} * (dwelling_structure = 'semi_pakka')::INT
      + {wt["rooms_per_person"]} * least(rooms::DOUBLE / household_size, 2.0)
      + {wt["toilet_flush"]} * (toilet = 'flush')::INT + {wt["toilet_non_flush"]} * (toilet = 'non_flush')::INT
      + {wt["water_improved"]} * (water_source <> 'unimproved')::INT
      + {wt["lighting_electricity"]} * (lighting = 'electricity')::INT + {wt["lighting_solar"]} * (lighting = 'solar')::INT
      + {wt["cooking_gas_pipeline"]} * (cooking_fuel = 'gas_pipeline')::INT + {wt["cooking_lpg"]} * (cooking_fuel = 'lpg')::INT
      + {wt["refrigerator"]} * has_refrigerator::INT + {wt["television"]} * has_television::INT
      + {wt["washing_machine"]} * has_washing_machine::INT + {wt["air_conditioner"]} * has_air_conditioner::INT
      + {wt["motorcycle"]} * has_motorcycle::INT + {wt["car"]} * has_car::INT + {wt["computer"]} * has_computer::INT
      + {wt["log_land_acres"]} * ln(1 + land_acres)
      + {wt["log_livestock"]} * ln(1 + cattle + buffalo + goats_sheep / 5.0)
      + {wt["head_years_schooling"]} * (CASE head_education {years} ELSE 0 END)
      + {wt["literate_adult_share"]} * n_literate_adults::DOUBLE / greatest(1, n_adults)
      + {wt["dependency_ratio"]} * least(4.0, n_dependants::DOUBLE / greatest(1, n_working_age))
      + {wt["salaried_earners"]} * least(3, n_salaried)
      + {wt["female_head_no_earner"]} * (head_gender = 'female' AND n_male_earners = 0)::INT
      + {pmt["noise_sd"]} * {r.normal("pmt_noise", "household_id")}
    , 2))) AS pmt_score
  FROM s
), q AS (
  SELECT p.*,
    {pmt_band_sql()} AS pmt_band,
    n_disabled > 0 AS has_disabled_member,
    {kafaalat_eligible_sql()} AS kafaalat_eligible,
    {exclusion_sql()} AS exclusion_raw,
    psc2010_surveyed AND greatest(0, pmt_score - 3 + 9 * {r.normal("psc2010", "household_id")}) <= {cut["psc2010"]}
      AS psc2010_beneficiary
  FROM p
)
SELECT q.* EXCLUDE (exclusion_raw),
  kafaalat_eligible AND exclusion_raw IS NULL AND n_ever_married_women > 0 AS is_beneficiary_household,
  CASE WHEN kafaalat_eligible THEN exclusion_raw END AS exclusion_reason,
  {record_key_sql("household_id", self.secret, "household")} AS record_key
FROM q
""")
        self.sql("""
CREATE TEMP TABLE hh_status AS
SELECT household_id, pmt_score, pmt_band, is_beneficiary_household,
  CASE WHEN is_urban THEN 'urban' ELSE 'rural' END AS urban_rural, record_key
FROM hh_pre
""")
        # Taleemi Wazaif children are chosen now: households need their count.
        self._select_cct_children()
        self._write_households()

    def _select_cct_children(self) -> None:
        r = self.rnd
        levels = {lv["code"]: lv for lv in self.rules["taleemi_wazaif"]["levels"]}
        self.sql(f"""
CREATE TEMP TABLE cct_children AS
WITH c AS (
  SELECT m.member_id, m.household_id, m.gender, m.age, m.uc_code,
    CASE WHEN m.school_level = 'primary' OR (m.school_level = 'madrassa' AND m.age <= 9) THEN 'primary'
         WHEN m.school_level IN ('secondary', 'madrassa') THEN 'secondary'
         WHEN m.school_level = 'higher_secondary' THEN 'higher_secondary' END AS level
  FROM mem_base m JOIN hh_status s USING (household_id)
  WHERE s.is_beneficiary_household AND m.school_level NOT IN ('none', 'pre_primary', 'tertiary')
    AND {r.u("cct_reg", "m.member_id")} < 0.75
)
SELECT c.member_id, c.household_id, c.gender, c.level, ss.school_id,
  -- quarters enrolled within the eight-quarter window that ends with the snapshot's quarter
  1 + floor({r.u("cct_since", "c.member_id")} ^ 0.6 * 8)::INTEGER AS n_quarters
FROM c
JOIN (SELECT DISTINCT uc_code, n_schools FROM school_slots) n USING (uc_code)
JOIN school_slots ss ON ss.uc_code = c.uc_code AND ss.k = 1 + floor({r.u("school", "c.member_id")} * n.n_schools)
WHERE c.level IS NOT NULL
  AND c.age BETWEEN CASE c.level {" ".join(f"WHEN '{k}' THEN {v['min_age']}" for k, v in levels.items())} END
                AND CASE c.level {" ".join(f"WHEN '{k}' THEN {v['max_age']}" for k, v in levels.items())} END
""")

    def _create(self, table: str) -> None:
        """Create a warehouse table exactly as the catalogue declares it (names, order, types)."""
        self.sql(load_catalogue().ddl(table))

    def _write_households(self) -> None:
        r = self.rnd
        streets = geography.names()["street"]
        u1, u2 = r.u("structure_detail", "h.household_id"), r.u("structure_detail2", "h.household_id")
        income = f"h.pmt_score + 8 * {r.normal('income', 'h.household_id')}"
        self.sql(f"""
INSERT INTO households BY NAME
WITH x AS (
  SELECT h.*, {u1} AS u_detail, {u2} AS u_detail2, {income} AS income_proxy,
    t.division_code, t.tehsil_code, t.province_name, t.division_name, t.district_name, t.tehsil_name,
    v.village_code, v.village_name, v.uc_name, t.cnic_digit, t.tehsil_index, ts.first_offset
  FROM hh_pre h
  JOIN g_tehsil t ON t.tehsil_idx = h.tehsil_idx
  JOIN tehsil_member_start ts ON ts.tehsil_idx = h.tehsil_idx
  JOIN g_village v ON v.village_idx = h.village_idx
)
SELECT
  h.household_id, h.province_code, h.province_name, h.division_code, h.division_name, h.district_code,
  h.district_name, h.tehsil_code, h.tehsil_name, h.uc_code, h.uc_name, h.village_code, h.village_name,
  CASE WHEN h.is_urban THEN 'urban' ELSE 'rural' END AS urban_rural,
  'House ' || (1 + floor({r.u("house", "h.household_id")} * 400)::INTEGER) || ', '
    || {_sql_list(streets)}[{r.index("street", "h.household_id", len(streets))}] || ' '
    || (1 + floor({r.u("street_no", "h.household_id")} * 30)::INTEGER) || ', ' || h.village_name || ', '
    || h.uc_name || ', ' || h.tehsil_name || ', ' || h.district_name AS address,
  round(h.latitude, 5) AS latitude, round(h.longitude, 5) AS longitude,
  h.rooms, h.dwelling_structure,
  CASE h.dwelling_structure
    WHEN 'pakka' THEN CASE WHEN u_detail < 0.82 THEN 'rcc_rbc' ELSE 'iron_cement_sheets' END
    WHEN 'semi_pakka' THEN CASE WHEN u_detail < 0.15 THEN 'rcc_rbc' WHEN u_detail < 0.55
      THEN 'iron_cement_sheets' ELSE 'wood_bamboo' END
    ELSE CASE WHEN u_detail < 0.6 THEN 'wood_bamboo' ELSE 'thatch_other' END END AS roof,
  CASE h.dwelling_structure
    WHEN 'pakka' THEN CASE WHEN u_detail2 < 0.9 THEN 'burnt_bricks' ELSE 'stone' END
    WHEN 'semi_pakka' THEN CASE WHEN u_detail2 < 0.5 THEN 'burnt_bricks' WHEN u_detail2 < 0.75 THEN 'mud_bricks'
      ELSE 'stone' END
    ELSE CASE WHEN u_detail2 < (CASE WHEN h.province_code IN ('PK2', 'PK3', 'PK5') THEN 0.6 ELSE 0.8 END)
      THEN 'mud_bricks' WHEN u_detail2 < 0.92 THEN 'stone' ELSE 'wood_bamboo' END END AS walls,
  h.toilet, h.water_source, h.lighting, h.cooking_fuel, h.tenure,
  h.has_refrigerator, h.has_television, h.has_washing_machine, h.has_air_conditioner, h.has_motorcycle,
  h.has_car, h.has_computer, h.has_mobile_phone,
  h.land_acres, h.cattle, h.buffalo, h.goats_sheep,
  h.household_size, h.head_member_id, h.head_gender, h.head_age, h.head_education, h.head_employment,
  {self._cnic_sql("h.head_member_id", "h.head_gender")} AS head_cnic,
  h.n_children_under_5, h.n_ever_married_women, h.n_disabled, h.has_disabled_member,
  h.pmt_score, h.pmt_band, h.survey_date,
  CASE WHEN h.survey_date < DATE '2022-01-01' THEN 'nser_2019_21' ELSE 'dynamic_registry' END AS survey_round,
  h.psc2010_surveyed, h.psc2010_beneficiary,
  h.is_beneficiary_household, h.kafaalat_eligible, h.exclusion_reason,
  coalesce(c.n, 0)::TINYINT AS cct_children,
  CASE WHEN h.has_mobile_phone THEN '03' || (floor({r.u("operator", "h.household_id")} * 5))::INTEGER
       || lpad((floor({r.u("phone", "h.household_id")} * 100000000))::BIGINT::VARCHAR, 8, '0') END AS contact_number,
  h.receives_remittances,
  CASE WHEN {r.u("income_refused", "h.household_id")} < 0.04 THEN 'refused'
       WHEN income_proxy < 25 THEN 'lt_15k' WHEN income_proxy < 40 THEN '15k_30k'
       WHEN income_proxy < 58 THEN '30k_60k' WHEN income_proxy < 72 THEN '60k_120k'
       ELSE 'ge_120k' END AS income_band,
  h.record_key
FROM x h
LEFT JOIN (SELECT household_id, count(*) AS n FROM cct_children GROUP BY ALL) c USING (household_id)
ORDER BY h.household_id
""")

    # -- stage 5: members final ---------------------------------------------------------------------

    def _cnic_sql(self, member_id: str, gender: str) -> str:
        """Synthetic NADRA-style number as SQL (needs cnic_digit, tehsil_index, first_offset in scope).

        Province digit, the tehsil's index in its province (4 digits), a serial unique within the tehsil
        scrambled by a bijection mod 10^7, and the parity digit (odd for men, even for women). Built as
        an integer, which is cheaper than concatenating strings, then cast.
        """
        serial = f"(({member_id} - 1 - first_offset) * 7919 + 1234567) % 10000000"
        u_last = self.rnd.u("cnic_last", member_id)
        parity = (
            f"CASE WHEN {gender} = 'male' THEN 1 + 2 * floor({u_last} * 5)"
            f" WHEN {gender} = 'female' THEN 2 * floor({u_last} * 5) ELSE floor({u_last} * 10) END"
        )
        return (
            f"(cnic_digit::BIGINT * 1000000000000 + tehsil_index::BIGINT * 100000000 + ({serial}) * 10"
            f" + ({parity})::BIGINT)::VARCHAR"
        )

    def stage_members(self) -> None:
        r = self.rnd
        nm = geography.names()
        male, female = nm["male_given"], nm["female_given"]
        cnic = self._cnic_sql("member_id", "gender")
        u_bform = r.u("bform", "member_id")
        has_number = (
            f"(age >= 18 OR {u_bform} < CASE WHEN age = 0 THEN 0.45 WHEN age < 5 THEN 0.75 ELSE 0.9 END)"
        )
        male_l, female_l = _sql_list(male), _sql_list(female)
        self.sql(f"""
INSERT INTO members BY NAME
WITH x AS (
  SELECT m.*, t.province_code, t.division_code, t.district_code, t.tehsil_code, t.cnic_digit, t.tehsil_index,
    ts.first_offset, s.urban_rural, s.pmt_score, s.pmt_band, s.is_beneficiary_household,
    s.record_key AS household_record_key, c.member_id IS NOT NULL AS is_cct_child
  FROM mem_base m
  JOIN hh_status s USING (household_id)
  JOIN g_tehsil t ON t.tehsil_idx = m.tehsil_idx
  JOIN tehsil_member_start ts ON ts.tehsil_idx = m.tehsil_idx
  LEFT JOIN cct_children c ON c.member_id = m.member_id
)
SELECT
  member_id, household_id, line_no,
  (DATE '{self.as_of}' - INTERVAL (age) YEAR - INTERVAL (floor({r.u("dob", "member_id")} * 365)::INTEGER) DAY)::DATE
    AS date_of_birth,
  CASE WHEN {has_number} THEN {cnic} END AS cnic,
  CASE WHEN age >= 18 THEN 'cnic' WHEN {has_number} THEN 'bform' END AS id_type,
  CASE
    WHEN role = 'head' AND gender = 'male' THEN {male_l}[{r.index("headname", "household_id", len(male))}]
    WHEN gender = 'female' THEN {female_l}[{r.index("fname", "member_id", len(female))}]
    ELSE {male_l}[{r.index("mname", "member_id", len(male))}] END
  || ' ' || CASE WHEN gender = 'female' AND role <> 'spouse' AND {r.u("bibi", "member_id")} < 0.35 THEN 'Bibi'
                 ELSE family_name END AS name,
  CASE WHEN role = 'spouse' THEN {male_l}[{r.index("headname", "household_id", len(male))}]
       WHEN role = 'head' OR age >= head_age - 14 OR (gender = 'female' AND marital_status <> 'never_married'
            AND role <> 'spouse')
       THEN {male_l}[{r.index("guardian", "member_id", len(male))}]
       ELSE {male_l}[{r.index("headname", "household_id", len(male))}] END || ' ' || family_name AS guardian_name,
  relation, gender, age, marital_status, disability, disability_severity, is_literate, education, school_level,
  employment_status, employment_sector, employment_type,
  {beneficiary_member_sql("x", "x")} AS is_beneficiary,
  is_cct_child, province_code, division_code, district_code, tehsil_code, uc_code, urban_rural,
  pmt_score, pmt_band, is_beneficiary_household, household_record_key,
  {record_key_sql("member_id", self.secret, "member")} AS record_key
FROM x
""")

    # -- stage 6/7: programme tables ----------------------------------------------------------------

    def _quarter_sql(self, offset_expr: str) -> str:
        """Quarter label ``offset_expr`` quarters before the snapshot's quarter (0 = that quarter)."""
        q0 = self.as_of.year * 4 + (self.as_of.month - 1) // 3
        return f"(({q0} - ({offset_expr})) // 4)::VARCHAR || 'Q' || ((({q0} - ({offset_expr})) % 4) + 1)::VARCHAR"

    def _quarter_start_sql(self, offset_expr: str) -> str:
        q0 = self.as_of.year * 4 + (self.as_of.month - 1) // 3
        return (
            f"make_date((({q0} - ({offset_expr})) // 4)::INTEGER, "
            f"((({q0} - ({offset_expr})) % 4) * 3 + 1)::INTEGER, 1)"
        )

    def stage_cct(self) -> None:
        r = self.rnd
        tw = self.rules["taleemi_wazaif"]
        amount = (
            "CASE c.level "
            + " ".join(
                f"WHEN '{lvl}' THEN CASE WHEN c.gender = 'female' THEN {v['female']} ELSE {v['male']} END"
                for lvl, v in tw["quarterly_stipend"].items()
            )
            + " END"
        )
        rowid = "(c.member_id * 8 + c.k)"
        self.sql(f"""
INSERT INTO cct_enrolments BY NAME
WITH q AS (SELECT c.*, unnest(range(c.n_quarters)) AS k FROM cct_children c),
a AS (
  SELECT q.*, round(least(100, greatest(20, 86 + 11 * {r.normal("attendance", "(q.member_id * 8 + q.k)")})), 1)
    AS attendance_pct
  FROM q
)
SELECT
  c.member_id * 8 + c.k AS enrolment_id,
  c.member_id, c.household_id, c.school_id, c.level, c.gender,
  {self._quarter_sql("c.k")} AS quarter,
  c.attendance_pct,
  ({amount})::INTEGER AS amount,
  CASE WHEN c.attendance_pct < {tw["attendance_threshold_pct"]} THEN 'withheld'
       WHEN {r.u("cct_fail", rowid)} < 0.02 THEN 'failed' ELSE 'paid' END AS status,
  t.province_code, t.division_code, t.district_code, t.tehsil_code, m.uc_code, h.urban_rural,
  h.record_key AS household_record_key, {record_key_sql("c.member_id", self.secret, "member")} AS record_key
FROM a c
JOIN hh_status h USING (household_id)
JOIN mem_base m ON m.member_id = c.member_id
JOIN g_tehsil t ON t.tehsil_idx = m.tehsil_idx
ORDER BY c.member_id, c.k
""")

    def stage_payments(self) -> None:
        r = self.rnd
        sched = self.rules["kafaalat"]["quarterly_stipend"]
        amount = (
            "CASE "
            + " ".join(f"WHEN qstart >= DATE '{s['from']}' THEN {s['amount']}" for s in reversed(sched))
            + " ELSE 0 END"
        )
        rowid = "(b.member_id * 8 + b.k)"
        self.sql(f"""
INSERT INTO payments BY NAME
WITH b AS (
  SELECT m.member_id, m.household_id, t.province_code, t.division_code, t.district_code, t.tehsil_code, m.uc_code,
    s.urban_rural,
    s.record_key AS household_record_key, {record_key_sql("m.member_id", self.secret, "member")} AS record_key,
    unnest(range(1 + floor({r.u("pay_since", "m.member_id")} ^ 0.5 * 8)::INTEGER)) AS k
  FROM mem_base m JOIN hh_status s USING (household_id) JOIN g_tehsil t ON t.tehsil_idx = m.tehsil_idx
  WHERE {beneficiary_member_sql("m", "s")}
), c AS (
  SELECT b.*, {self._quarter_sql("b.k")} AS quarter, {self._quarter_start_sql("b.k")} AS qstart,
    {r.u("pay_status", rowid)} AS u_status, {r.u("pay_channel", "b.member_id")} AS u_channel,
    {r.u("pay_day", rowid)} AS u_day
  FROM b
)
SELECT
  member_id * 8 + k AS payment_id,
  member_id, household_id, quarter,
  ({amount})::INTEGER AS amount,
  CASE WHEN u_status < 0.94 THEN 'paid' WHEN u_status < 0.98 THEN 'failed' ELSE 'withheld' END AS status,
  CASE WHEN u_channel < 0.40 THEN 'bank_account' WHEN u_channel < 0.75 THEN 'campsite' ELSE 'retailer_pos' END
    AS channel,
  CASE WHEN u_status < 0.94 THEN qstart + INTERVAL (10 + floor(u_day * 70)::INTEGER) DAY END::DATE AS paid_on,
  province_code, division_code, district_code, tehsil_code, uc_code, urban_rural, household_record_key, record_key
FROM c
ORDER BY member_id, k
""")

    def stage_finish(self) -> None:
        for t in ("hh_index", "tehsil_member_start", "school_slots", "g_tehsil", "g_village", "g_slots"):
            self.sql(f"DROP TABLE IF EXISTS {t}")
        for t in ("households", "members", "schools", "cct_enrolments", "payments", "geo_units"):
            self.report.counts[t] = self.con.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
