"""Demo integration feeds: one CSV per feed of ``feeds.yaml``, made to fit a synthetic snapshot.

Why: the integration feature (load a batch, match on CNIC, raise holds and flags, review, appeal) can
only be shown and tested end to end with files that look like what NADRA, FBR or the Excise departments
send. Real extracts cannot leave BISP, so these are generated from the snapshot itself:

* a few percent of each file's rows are registered people, drawn so the rules have something to do —
  cars registered to members of beneficiary households, taxpayers among the heads of beneficiary
  households, deaths of beneficiaries, households in a flooded district — and most matched rows agree
  with the registry, as real feeds mostly do;
* most rows are people the registry does not hold: CNICs in NADRA's format (province digit first, odd
  last digit for men, even for women) checked against the snapshot so they never match by accident;
* the noise real files carry and the loader accepts: dashed CNICs, stray spaces, exact duplicate rows;
* optionally (``malformed``) a few rows with one clear problem each, so all-or-nothing batch rejection
  has something real to reject.

Every clean value is checked with ``data.feeds.parse_value`` before a file is written, so a change to
``feeds.yaml`` that the generator does not follow fails here, loudly, rather than in a demo. Output is a
function of the snapshot and the seed only, and each feed has its own random stream, so asking for a
subset of feeds gives the same files as asking for all of them.

Like the warehouse builders, this module reads the snapshot directly with DuckDB (read-only).
"""

from __future__ import annotations

import csv
import datetime as dt
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd

from data import geography
from data.feeds import Feed, load_feeds, parse_value
from data.rules import load_rules

# Rows per registered household for each person feed, before the floor and cap below: 1–3 % gives
# hundreds of rows for the 20,000-household test warehouse and a few thousand for 200,000 households.
ROWS_PER_HOUSEHOLD = {
    "nadra_citizens": 0.03,
    "crms_vital_events": 0.025,
    "ecp_electoral_rolls": 0.03,
    "fbr_taxpayers": 0.02,
    "excise_vehicles": 0.03,
    "fia_travel": 0.015,
    "agpr_employees": 0.015,
    "eobi_employees": 0.02,
    "cro_records": 0.01,
    "usc_purchases": 0.025,
    "ndma_households": 0.02,
    "social_welfare": 0.015,
}
DEFAULT_ROWS_PER_HOUSEHOLD = 0.02
# Share of a file's rows that are registered members (the rest are people the registry does not hold).
MATCHED_SHARE = {"cro_records": 0.03, "ndma_households": 0.2, "usc_purchases": 0.1, "social_welfare": 0.1}
DEFAULT_MATCHED_SHARE = 0.07
MIN_ROWS, MAX_ROWS = 50, 25_000
MIN_MATCHED = 4
AREA_ROWS = (4, 8)
# Above this many adults the snapshot is sampled before drawing, so a national snapshot stays cheap.
POOL_MAX = 400_000

DASHED_SHARE, SPACED_SHARE = 0.06, 0.02
MALFORMED_KINDS = ("bad_cnic", "bad_date", "bad_code", "out_of_range", "unknown_district")


# --- the registry as the generator sees it ---------------------------------------------------------


@dataclass
class _Registry:
    """What the generator reads from a snapshot: its date, size, adults with a CNIC and geography."""

    con: duckdb.DuckDBPyConnection
    seed: int
    as_of: dt.date
    households: int
    pool: pd.DataFrame  # adults with a CNIC and the registry columns the scenarios need
    tehsils: pd.DataFrame  # every reference tehsil: codes, CNIC digits, weight for outsiders
    district_names: dict[str, str]
    tehsil_names: dict[str, str]
    province_names: dict[str, str]
    districts_by_province: dict[str, list[str]]
    registry_districts: pd.Series  # households per district of the snapshot (valid reference codes)
    registry_tehsils: list[str]

    def other_district(self, rng: np.random.Generator, code: str) -> str:
        """Another district, usually in the same province (people move to the nearest city)."""
        province = self.district_province(code)
        same = [d for d in self.districts_by_province.get(province, []) if d != code]
        if same and rng.random() < 0.75:
            return same[int(rng.integers(len(same)))]
        every = [d for ds in self.districts_by_province.values() for d in ds if d != code]
        return every[int(rng.integers(len(every)))]

    def district_province(self, code: str) -> str:
        return next((p for p, ds in self.districts_by_province.items() if code in ds), "")

    def outsiders(
        self, rng: np.random.Generator, n: int, female_share: float, districts: list[str] | None = None
    ) -> pd.DataFrame:
        """People the registry does not hold: a home tehsil and a CNIC no member has."""
        t = self.tehsils if not districts else self.tehsils[self.tehsils.district_code.isin(districts)]
        if n <= 0 or t.empty:
            return pd.DataFrame(columns=["cnic", "gender", "district_code", "tehsil_code", "province_code"])
        home = t.iloc[rng.choice(len(t), size=n, p=(t.weight / t.weight.sum()).to_numpy())]
        female = rng.random(n) < female_share
        cnic = self._fresh_cnics(rng, home.cnic_digit.to_numpy(), home.tehsil_index.to_numpy(), female)
        return pd.DataFrame(
            {
                "cnic": cnic,
                "gender": np.where(female, "female", "male"),
                "district_code": home.district_code.to_numpy(),
                "tehsil_code": home.tehsil_code.to_numpy(),
                "province_code": home.province_code.to_numpy(),
            }
        )

    def _fresh_cnics(
        self, rng: np.random.Generator, digit: np.ndarray, tehsil_index: np.ndarray, female: np.ndarray
    ) -> list[str]:
        """NADRA-format numbers, redrawn until none is a member's and none repeats."""
        base = digit.astype(np.int64) * 10**12 + tehsil_index.astype(np.int64) * 10**8
        parity = rng.integers(0, 5, size=len(base)) * 2 + np.where(female, 0, 1)
        number = base + rng.integers(0, 10**7, size=len(base)) * 10 + parity
        while True:
            text = pd.Series(number.astype(str))
            clash = text.duplicated().to_numpy().copy()
            self.con.register("demo_candidates", pd.DataFrame({"cnic": text}))
            taken = {
                r[0]
                for r in self.con.execute(
                    "SELECT c.cnic FROM demo_candidates c JOIN members m ON m.cnic = c.cnic"
                ).fetchall()
            }
            self.con.unregister("demo_candidates")
            clash |= text.isin(taken).to_numpy()
            if not clash.any():
                return text.tolist()
            number[clash] = base[clash] + rng.integers(0, 10**7, size=int(clash.sum())) * 10 + parity[clash]


def _read_registry(con: duckdb.DuckDBPyConnection, seed: int) -> _Registry:
    as_of = _as_of(con)
    households = con.execute("SELECT count(*) FROM households").fetchone()[0]
    adults = con.execute(
        "SELECT count(*) FROM members WHERE id_type = 'cnic' AND cnic IS NOT NULL"
    ).fetchone()[0]
    sample = ""
    if adults > POOL_MAX:
        sample = f"AND hash(m.member_id, {int(seed)}) % 1000000 < {int(1_000_000 * POOL_MAX / adults)}"
    pool = con.execute(f"""
SELECT m.member_id, m.household_id, m.cnic, m.relation, m.gender, m.age, m.marital_status, m.disability,
       m.disability_severity, m.employment_type, m.is_beneficiary, h.is_beneficiary_household, h.has_car,
       h.has_motorcycle, h.income_band,
       h.pmt_score, h.district_code, h.tehsil_code, h.province_code, b.beneficiaries
FROM members m
JOIN households h USING (household_id)
JOIN (SELECT household_id, count(*) FILTER (WHERE is_beneficiary) AS beneficiaries FROM members GROUP BY ALL) b
  USING (household_id)
WHERE m.id_type = 'cnic' AND m.cnic IS NOT NULL {sample}
ORDER BY m.member_id
""").df()
    pool["beneficiary_or_spouse"] = pool.is_beneficiary | (
        pool.is_beneficiary_household & pool.relation.isin(["head", "spouse"])
    )
    pool["pmt_score"] = pool.pmt_score.fillna(50.0)

    rules = load_rules()["cnic"]
    fata = set(rules["ex_fata_districts"])
    t = geography.tehsils()
    tehsils = pd.DataFrame(
        {
            "tehsil_code": t.tehsil_code,
            "district_code": t.district_code,
            "province_code": t.province_code,
            "tehsil_index": t.tehsil_index,
            "cnic_digit": [
                rules["ex_fata_digit"] if d in fata else rules["first_digit"][p]
                for d, p in zip(t.district_code, t.province_code, strict=True)
            ],
            # national registries hold everyone, so outsiders follow the census, not the registry
            "weight": (t.households_urban + t.households_rural).clip(lower=1).astype(float),
        }
    )
    d = geography.districts()
    valid_districts = set(d.district_code)
    counts = con.execute(
        "SELECT district_code, count(*) AS n FROM households GROUP BY ALL ORDER BY district_code"
    ).df()
    counts = counts[counts.district_code.isin(valid_districts)]
    registry_tehsils = [
        r[0]
        for r in con.execute("SELECT DISTINCT tehsil_code FROM households ORDER BY tehsil_code").fetchall()
        if r[0] in set(t.tehsil_code)
    ]
    return _Registry(
        con=con,
        seed=seed,
        as_of=as_of,
        households=households,
        pool=pool,
        tehsils=tehsils,
        district_names=dict(zip(d.district_code, d.district, strict=True)),
        tehsil_names=dict(zip(t.tehsil_code, t.tehsil_name, strict=True)),
        province_names=dict(
            zip(geography.provinces().province_code, geography.provinces().province, strict=True)
        ),
        districts_by_province={p: sorted(g.district_code) for p, g in d.groupby("province_code")},
        registry_districts=counts.set_index("district_code").n,
        registry_tehsils=registry_tehsils,
    )


def _as_of(con: duckdb.DuckDBPyConnection) -> dt.date:
    """The snapshot's date: records are dated before it, never after."""
    try:
        row = con.execute("SELECT value FROM snapshot_info WHERE key = 'as_of'").fetchone()
    except duckdb.CatalogException:
        row = None
    if row:
        return dt.date.fromisoformat(row[0])
    return con.execute("SELECT max(survey_date) FROM households").fetchone()[0]


class _Picker:
    """Draws registered people for one feed, weighted, never the same member twice."""

    def __init__(self, pool: pd.DataFrame, rng: np.random.Generator):
        self.pool, self.rng = pool, rng
        self.free = np.ones(len(pool), dtype=bool)

    def take(self, k: int, where=None, weight=None) -> pd.DataFrame:
        ok = self.free.copy() if where is None else self.free & np.asarray(where, dtype=bool)
        idx = np.flatnonzero(ok)
        k = min(int(k), idx.size)
        if k <= 0:
            return self.pool.iloc[[]]
        w = np.ones(idx.size) if weight is None else np.asarray(weight, dtype=float)[idx]
        # Efraimidis–Spirakis: weighted sampling without replacement in one pass
        keys = np.log(self.rng.random(idx.size)) / np.maximum(w, 1e-12)
        top = np.argpartition(-keys, k - 1)[:k]
        chosen = idx[top[np.argsort(-keys[top], kind="stable")]]
        self.free[chosen] = False
        return self.pool.iloc[chosen]


# --- small value helpers ---------------------------------------------------------------------------


def _day(rng: np.random.Generator, start: dt.date, end: dt.date) -> dt.date:
    span = max(0, (end - start).days)
    return start + dt.timedelta(days=int(rng.integers(0, span + 1)))


def _ago(as_of: dt.date, days: int) -> dt.date:
    return as_of - dt.timedelta(days=days)


def _choice(rng: np.random.Generator, weights: dict[str, float]) -> str:
    keys = list(weights)
    p = np.array([weights[k] for k in keys], dtype=float)
    return keys[int(rng.choice(len(keys), p=p / p.sum()))]


def _few(matched: int) -> int:
    """How many rows a scenario that must happen gets: a few, more in a bigger file."""
    return max(3, round(matched * 0.12))


def _letters(name: str, n: int = 3) -> str:
    text = "".join(ch for ch in name.upper() if "A" <= ch <= "Z")
    return (text + "XXX")[:n]


def _people(*frames: pd.DataFrame) -> list:
    return [p for f in frames for p in f.itertuples(index=False)]


# --- one builder per feed --------------------------------------------------------------------------
# A builder gets the registry, a picker of registered people, the feed's random stream and how many
# matched and unmatched rows to make; it returns rows as {field: value}.

Builder = Callable[[_Registry, _Picker, np.random.Generator, int, int], list[dict]]

MARITAL_NEXT = {
    "never_married": {"married": 1.0},
    "married": {"widowed": 0.5, "divorced": 0.35, "separated": 0.15},
    "widowed": {"married": 1.0},
    "divorced": {"married": 1.0},
    "separated": {"divorced": 0.6, "married": 0.4},
}
MARITAL_ADULTS = {
    "married": 0.62,
    "never_married": 0.28,
    "widowed": 0.07,
    "divorced": 0.02,
    "separated": 0.01,
}


def _nadra_citizens(reg: _Registry, pick: _Picker, rng, matched: int, unmatched: int) -> list[dict]:
    p = pick.pool
    few = _few(matched)
    groups = (
        ("remarried", pick.take(few, where=p.age.between(18, 60))),
        ("moved", pick.take(few, where=p.beneficiary_or_spouse)),
    )
    groups += (("same", pick.take(matched - sum(len(f) for _, f in groups))),)
    rows = []
    for change, frame in groups:
        for who in _people(frame):
            marital, district = who.marital_status, who.district_code
            if change == "remarried":
                marital = _choice(rng, MARITAL_NEXT.get(marital, {"married": 1.0}))
            elif change == "moved":
                district = reg.other_district(rng, district)
            rows.append(_nadra_row(rng, reg, who.cnic, marital, district, blanks=change == "same"))
    for who in _people(reg.outsiders(rng, unmatched, 0.5)):
        rows.append(_nadra_row(rng, reg, who.cnic, _choice(rng, MARITAL_ADULTS), who.district_code))
    return rows


def _nadra_row(rng, reg: _Registry, cnic: str, marital: str, district: str, blanks: bool = True) -> dict:
    """NADRA leaves a field empty when it has nothing new; a change is never left empty."""
    u = rng.random() if blanks else 1.0
    return {
        "cnic": cnic,
        "marital_status": None if u < 0.04 else marital,
        "district_code": None if 0.04 <= u < 0.08 else district,
        "updated_on": _day(rng, _ago(reg.as_of, 730), reg.as_of),
    }


def _crms_vital_events(reg: _Registry, pick: _Picker, rng, matched: int, unmatched: int) -> list[dict]:
    p = pick.pool
    few = max(3, _few(matched))
    female_beneficiary = p.is_beneficiary & p.gender.eq("female")
    # the only beneficiary of her household first: that is the case the overlay holds
    died_beneficiary = pick.take(
        few, where=female_beneficiary, weight=np.where(p.beneficiaries.eq(1), 4.0, 1.0)
    )
    rest = max(0, matched - len(died_beneficiary))
    deaths = pick.take(round(rest * 0.35), weight=np.exp((p.age - 45) / 10.0))
    mothers = pick.take(
        round(rest * 0.35),
        where=p.gender.eq("female") & p.age.between(18, 45) & p.marital_status.eq("married"),
    )
    weddings = pick.take(
        round(rest * 0.22), where=p.marital_status.eq("never_married") & p.age.between(18, 35)
    )
    divorces = pick.take(
        rest - len(deaths) - len(mothers) - len(weddings), where=p.marital_status.eq("married")
    )
    rows = []
    for who in _people(died_beneficiary):
        rows.append(_crms_row(rng, reg, who, "death", _day(rng, _ago(reg.as_of, 120), reg.as_of)))
    for event, frame in (
        ("death", deaths),
        ("birth", mothers),
        ("marriage", weddings),
        ("divorce", divorces),
    ):
        for who in _people(frame):
            rows.append(_crms_row(rng, reg, who, event, _day(rng, _ago(reg.as_of, 365), reg.as_of)))
    mix = {"death": 0.35, "birth": 0.35, "marriage": 0.25, "divorce": 0.05}
    counts = rng.multinomial(unmatched, list(mix.values()))
    female_share = {"death": 0.45, "birth": 1.0, "marriage": 0.5, "divorce": 0.5}
    for event, n in zip(mix, counts, strict=True):
        for who in _people(reg.outsiders(rng, int(n), female_share[event])):
            rows.append(_crms_row(rng, reg, who, event, _day(rng, _ago(reg.as_of, 365), reg.as_of)))
    return rows


def _crms_row(rng, reg: _Registry, who, event: str, on: dt.date) -> dict:
    """A birth carries the mother's CNIC: the child has no number of its own yet."""
    certificate = f"CRMS-{who.district_code}-{on.year}-{int(rng.integers(1, 999_999)):06d}"
    return {
        "cnic": who.cnic,
        "event": event,
        "event_date": on,
        "certificate_no": None if rng.random() < 0.1 else certificate,
    }


def _ecp_electoral_rolls(reg: _Registry, pick: _Picker, rng, matched: int, unmatched: int) -> list[dict]:
    p = pick.pool
    elsewhere = pick.take(_few(matched), where=p.beneficiary_or_spouse)
    at_home = pick.take(matched - len(elsewhere))
    rows = []
    for who in _people(elsewhere):
        rows.append(_ecp_row(rng, who.cnic, reg.other_district(rng, who.district_code)))
    for who in _people(at_home):
        # a few non-beneficiaries are on the rolls elsewhere too; the rule ignores them
        moved = rng.random() < 0.04
        rows.append(
            _ecp_row(
                rng, who.cnic, reg.other_district(rng, who.district_code) if moved else who.district_code
            )
        )
    for who in _people(reg.outsiders(rng, unmatched, 0.48)):
        rows.append(_ecp_row(rng, who.cnic, who.district_code))
    return rows


def _ecp_row(rng, cnic: str, district: str) -> dict:
    return {
        "cnic": cnic,
        "district_code": district,
        "census_block": None if rng.random() < 0.05 else f"{int(rng.integers(10**8, 10**9))}",
        "gharana_no": None if rng.random() < 0.1 else str(int(rng.integers(1, 450))),
    }


BRACKETS = ("below_600k", "600k_1_2m", "1_2m_2_2m", "2_2m_3_2m", "above_3_2m")


def _fbr_taxpayers(reg: _Registry, pick: _Picker, rng, matched: int, unmatched: int) -> list[dict]:
    p = pick.pool
    # heads of beneficiary households whose wife is the beneficiary: the spouses the hold is about,
    # more often where the survey recorded the lowest income (the outlier the reviewer should see)
    spouses = pick.take(
        _few(matched),
        where=p.is_beneficiary_household & p.relation.eq("head") & p.gender.eq("male"),
        weight=np.where(p.income_band.eq("lt_15k"), 3.0, 1.0),
    )
    salaried = p.employment_type.isin(["government", "private_salaried"])
    weight = (
        np.exp(p.pmt_score / 12.0) * np.where(salaried, 4.0, 1.0) * np.where(p.gender.eq("male"), 3.0, 1.0)
    )
    filers = pick.take(matched - len(spouses), weight=weight)
    years = range(reg.as_of.year - 3, reg.as_of.year)
    rows = []
    for who in _people(spouses):
        bracket = _choice(rng, {"600k_1_2m": 0.7, "1_2m_2_2m": 0.3})
        rows.append(_fbr_row(rng, who.cnic, reg.as_of.year - 1, bracket))
    for who in _people(filers):
        bracket = _bracket(rng, who.pmt_score)
        for year in sorted(rng.choice(list(years), size=1 + int(rng.random() < 0.2), replace=False)):
            rows.append(_fbr_row(rng, who.cnic, int(year), bracket))
    for who in _people(reg.outsiders(rng, unmatched, 0.15)):
        bracket = _choice(rng, dict(zip(BRACKETS, (0.3, 0.3, 0.2, 0.1, 0.1), strict=True)))
        rows.append(_fbr_row(rng, who.cnic, int(rng.choice(list(years))), bracket))
    return rows


def _bracket(rng, pmt: float) -> str:
    """Richer households (higher PMT score) file in higher brackets."""
    if pmt < 40:
        return _choice(rng, dict(zip(BRACKETS, (0.75, 0.2, 0.05, 0, 0), strict=True)))
    if pmt < 70:
        return _choice(rng, dict(zip(BRACKETS, (0.4, 0.35, 0.17, 0.06, 0.02), strict=True)))
    return _choice(rng, dict(zip(BRACKETS, (0.15, 0.3, 0.28, 0.15, 0.12), strict=True)))


def _fbr_row(rng, cnic: str, year: int, bracket: str) -> dict:
    years = load_feeds()["fbr_taxpayers"].fields["tax_year"]  # a snapshot far in the future stays valid
    u = rng.random()
    return {
        "cnic": cnic,
        "tax_year": min(years["max"], max(years["min"], year)),
        "income_bracket": bracket,
        "active_filer": None if u < 0.1 else u < 0.85,
    }


VEHICLES_OUTSIDE = {
    "motorcycle": 0.68,
    "car": 0.18,
    "rickshaw": 0.05,
    "commercial": 0.04,
    "jeep": 0.02,
    "tractor": 0.03,
}
VEHICLES_CAR_OWNER = {"car": 0.6, "jeep": 0.13, "motorcycle": 0.2, "commercial": 0.07}
VEHICLES_BIKE_OWNER = {"motorcycle": 0.9, "car": 0.05, "rickshaw": 0.03, "commercial": 0.02}
VEHICLES_OTHERS = {"motorcycle": 0.8, "car": 0.08, "rickshaw": 0.05, "tractor": 0.04, "commercial": 0.03}


def _excise_vehicles(reg: _Registry, pick: _Picker, rng, matched: int, unmatched: int) -> list[dict]:
    p = pick.pool
    driver = p.gender.eq("male") & p.age.between(20, 65)
    few = _few(matched)
    cars_in_beneficiary = pick.take(few, where=p.is_beneficiary_household & driver)
    livelihood = pick.take(few, where=p.is_beneficiary_household & driver)
    owns = np.where(p.has_car, 6.0, np.where(p.has_motorcycle, 3.0, 1.0))
    weight = owns * np.exp(p.pmt_score / 40.0) * np.where(driver, 4.0, 1.0)
    owners = pick.take(matched - len(cars_in_beneficiary) - len(livelihood), weight=weight)
    plates: set[str] = set()
    rows = []
    for who in _people(cars_in_beneficiary):
        rows.append(
            _vehicle_row(rng, reg, plates, who, _choice(rng, {"car": 0.75, "jeep": 0.1, "commercial": 0.15}))
        )
    for who in _people(livelihood):
        rows.append(
            _vehicle_row(
                rng, reg, plates, who, _choice(rng, {"motorcycle": 0.6, "rickshaw": 0.25, "tractor": 0.15})
            )
        )
    for who in _people(owners):
        mix = (
            VEHICLES_CAR_OWNER
            if who.has_car
            else VEHICLES_BIKE_OWNER
            if who.has_motorcycle
            else VEHICLES_OTHERS
        )
        rows.append(_vehicle_row(rng, reg, plates, who, _choice(rng, mix)))
    for who in _people(reg.outsiders(rng, unmatched, 0.1)):
        rows.append(_vehicle_row(rng, reg, plates, who, _choice(rng, VEHICLES_OUTSIDE)))
    return rows


def _vehicle_row(rng, reg: _Registry, plates: set[str], who, vehicle: str) -> dict:
    """Plates in the provincial style, e.g. LAH-19-4417; every plate in a file is different."""
    on = _day(rng, dt.date(2008, 1, 1), reg.as_of)
    prefix = _letters(reg.district_names.get(who.district_code, "PAK"))
    while True:
        plate = f"{prefix}-{on.year % 100:02d}-{int(rng.integers(1, 10_000)):04d}"
        if plate not in plates:
            plates.add(plate)
            break
    return {"cnic": who.cnic, "registration_no": plate, "vehicle_class": vehicle, "registered_on": on}


DESTINATIONS = {
    "religious": {"Saudi Arabia": 0.8, "Iraq": 0.12, "Iran": 0.08},
    "work": {
        "Saudi Arabia": 0.38,
        "United Arab Emirates": 0.3,
        "Qatar": 0.1,
        "Oman": 0.1,
        "Kuwait": 0.05,
        "Malaysia": 0.07,
    },
    "visit": {
        "United Arab Emirates": 0.35,
        "United Kingdom": 0.25,
        "Saudi Arabia": 0.15,
        "Turkey": 0.15,
        "China": 0.1,
    },
    "study": {"China": 0.4, "United Kingdom": 0.2, "Malaysia": 0.2, "Turkey": 0.1, "Australia": 0.1},
    "other": {"Thailand": 0.4, "Azerbaijan": 0.3, "Sri Lanka": 0.3},
}
PURPOSES = {"religious": 0.35, "work": 0.3, "visit": 0.25, "study": 0.05, "other": 0.05}


def _fia_travel(reg: _Registry, pick: _Picker, rng, matched: int, unmatched: int) -> list[dict]:
    p = pick.pool
    few = _few(matched)
    working_age = p.gender.eq("male") & p.age.between(20, 55)
    abroad_for_work = pick.take(few, where=p.beneficiary_or_spouse & working_age)
    pilgrims = pick.take(few, where=p.is_beneficiary)
    long_pilgrim = pick.take(1, where=p.beneficiary_or_spouse & p.gender.eq("male"))
    weight = np.exp(p.pmt_score / 30.0) * np.where(working_age, 3.0, 1.0)
    travellers = pick.take(matched - len(abroad_for_work) - len(pilgrims) - len(long_pilgrim), weight=weight)
    rows = []
    for who in _people(abroad_for_work):
        rows.append(_trip(rng, reg, who.cnic, "work", int(rng.integers(180, 900))))
    for who in _people(pilgrims):
        rows.append(_trip(rng, reg, who.cnic, "religious", int(rng.integers(12, 45))))
    for who in _people(long_pilgrim):  # six months of Ziarat: long, but exempt from the hold
        rows.append(_trip(rng, reg, who.cnic, "religious", int(rng.integers(180, 240))))
    for who in _people(travellers, reg.outsiders(rng, unmatched, 0.3)):
        purpose = _choice(rng, PURPOSES)
        rows.append(_trip(rng, reg, who.cnic, purpose, _trip_days(rng, purpose)))
    return rows


def _trip_days(rng, purpose: str) -> int:
    if purpose == "religious":
        return int(rng.integers(10, 46))
    if purpose == "work":
        return int(rng.integers(180, 1200)) if rng.random() < 0.45 else int(rng.integers(20, 180))
    if purpose == "study":
        return int(rng.integers(90, 700))
    return int(rng.integers(5, 90))


def _trip(rng, reg: _Registry, cnic: str, purpose: str, days: int) -> dict:
    """Dates agree with days_abroad; someone still abroad has no entry date yet."""
    exit_date = _day(rng, _ago(reg.as_of, days + 900), _ago(reg.as_of, max(1, days // 2)))
    entry = exit_date + dt.timedelta(days=days)
    still_abroad = entry > reg.as_of
    if still_abroad:
        days = (reg.as_of - exit_date).days
    return {
        "cnic": cnic,
        "exit_date": exit_date,
        "entry_date": None if still_abroad else entry,
        "destination": None if rng.random() < 0.05 else _choice(rng, DESTINATIONS[purpose]),
        "purpose": purpose,
        "days_abroad": min(20000, days),
    }


PROVINCIAL_DEPARTMENTS = {
    "School Education Department": 0.35,
    "Health Department": 0.2,
    "Police Department": 0.15,
    "Revenue Department": 0.08,
    "Irrigation Department": 0.07,
    "Local Government Department": 0.08,
    "Agriculture Department": 0.07,
}
FEDERAL_DEPARTMENTS = {
    "Pakistan Railways": 0.3,
    "Pakistan Post": 0.3,
    "Federal Directorate of Education": 0.2,
    "Pakistan Bureau of Statistics": 0.1,
    "National Highway Authority": 0.1,
}
# BPS grades: peons and guards (1–4), clerks and constables (5–11), teachers (12–16), officers (17+)
BPS = {
    g: w
    for g, w in zip(
        range(1, 23), [8, 6, 5, 6, 5, 4, 7, 3, 6, 4, 5, 3, 2, 9, 4, 6, 4, 3, 2, 1, 0.3, 0.1], strict=True
    )
}


def _agpr_employees(reg: _Registry, pick: _Picker, rng, matched: int, unmatched: int) -> list[dict]:
    p = pick.pool
    low_paid = pick.take(
        _few(matched), where=p.beneficiary_or_spouse & p.gender.eq("male") & p.age.between(22, 59)
    )
    weight = np.where(p.employment_type.eq("government"), 30.0, 1.0) * np.where(
        p.age.between(20, 60), 1.0, 0.05
    )
    staff = pick.take(matched - len(low_paid), weight=weight)
    rows = []
    for who in _people(low_paid):  # a naib qasid or chowkidar the survey did not record
        rows.append(_agpr_row(rng, reg, who, int(rng.integers(1, 8))))
    for who in _people(staff, reg.outsiders(rng, unmatched, 0.25)):
        rows.append(_agpr_row(rng, reg, who, int(_choice(rng, {str(g): w for g, w in BPS.items()}))))
    return rows


def _agpr_row(rng, reg: _Registry, who, grade: int) -> dict:
    if rng.random() < 0.25 or who.province_code not in reg.province_names:
        department = _choice(rng, FEDERAL_DEPARTMENTS)
    else:
        department = f"{_choice(rng, PROVINCIAL_DEPARTMENTS)}, {reg.province_names[who.province_code]}"
    return {
        "cnic": who.cnic,
        "department": department,
        "bps_grade": grade,
        "since": None if rng.random() < 0.05 else _day(rng, dt.date(1992, 1, 1), _ago(reg.as_of, 30)),
    }


INDUSTRIES = (
    "Textile Mills",
    "Flour Mills",
    "Sugar Mills",
    "Rice Mills",
    "Cotton Ginning",
    "Cement",
    "Poultry Farms",
    "Packages",
    "Steel Re-Rolling",
    "Garments",
    "Dairies",
    "Security Services",
)


def _eobi_employees(reg: _Registry, pick: _Picker, rng, matched: int, unmatched: int) -> list[dict]:
    p = pick.pool
    few = _few(matched)
    spouse_men = p.beneficiary_or_spouse & p.gender.eq("male") & p.age.between(20, 59)
    above_minimum = pick.take(few, where=spouse_men)
    below_minimum = pick.take(few, where=spouse_men)
    weight = np.where(p.employment_type.eq("private_salaried"), 20.0, 1.0) * np.where(
        p.age.between(18, 60), 1.0, 0.05
    )
    insured = pick.take(matched - len(above_minimum) - len(below_minimum), weight=weight)
    rows = []
    for who in _people(above_minimum):
        rows.append(_eobi_row(rng, reg, who, int(rng.integers(40, 56)) * 1000))
    for who in _people(below_minimum):  # an old record from before the minimum wage rose
        rows.append(_eobi_row(rng, reg, who, int(rng.integers(25, 40)) * 1000))
    for who in _people(insured, reg.outsiders(rng, unmatched, 0.15)):
        wage = max(20_000, round(float(rng.lognormal(np.log(46_000), 0.45)) / 500) * 500)
        rows.append(_eobi_row(rng, reg, who, min(wage, 1_500_000)))
    return rows


def _eobi_row(rng, reg: _Registry, who, wage: int) -> dict:
    town = reg.district_names.get(who.district_code, "Lahore")
    return {
        "cnic": who.cnic,
        "employer": f"{town} {INDUSTRIES[int(rng.integers(len(INDUSTRIES)))]} (Pvt) Ltd",
        "monthly_wage": wage,
        "since": None if rng.random() < 0.05 else _day(rng, dt.date(2000, 1, 1), _ago(reg.as_of, 30)),
    }


CRO_STATUS = {"convicted": 0.4, "proclaimed_offender": 0.3, "acquitted": 0.3}


def _cro_records(reg: _Registry, pick: _Picker, rng, matched: int, unmatched: int) -> list[dict]:
    p = pick.pool
    weight = np.where(p.gender.eq("male"), 10.0, 1.0) * np.where(p.age.between(18, 50), 3.0, 1.0)
    offenders = pick.take(matched, weight=weight)
    rows = []
    for i, who in enumerate(_people(offenders, reg.outsiders(rng, unmatched, 0.05))):
        status = "convicted" if i == 0 else _choice(rng, CRO_STATUS)  # at least one match counts
        on = _day(rng, _ago(reg.as_of, 5 * 365), reg.as_of)
        station = reg.tehsil_names.get(who.tehsil_code, "City")
        case = f"FIR {int(rng.integers(1, 900))}/{on.year} PS {station}"[:40]
        rows.append({"cnic": who.cnic, "status": status, "case_ref": case, "recorded_on": on})
    return rows


def _usc_purchases(reg: _Registry, pick: _Picker, rng, matched: int, unmatched: int) -> list[dict]:
    p = pick.pool
    few = _few(matched)
    big_spenders = pick.take(few, where=p.is_beneficiary_household)
    shoppers = pick.take(matched - len(big_spenders), weight=np.where(p.is_beneficiary_household, 4.0, 1.0))
    outsiders = reg.outsiders(rng, unmatched, 0.5)
    rows = []
    for who in _people(big_spenders):
        rows.append(_purchase(rng, reg, who, float(rng.uniform(55_000, 250_000))))
    for i, who in enumerate(_people(shoppers, outsiders)):
        # about one shopper in a hundred, registered or not, also buys in bulk
        amount = (
            float(rng.uniform(60_000, 400_000)) if i % 97 == 3 else float(rng.lognormal(np.log(3500), 0.7))
        )
        rows.append(_purchase(rng, reg, who, min(max(amount, 150.0), 10_000_000.0)))
    return rows


def _purchase(rng, reg: _Registry, who, amount: float) -> dict:
    return {
        "cnic": who.cnic,
        "store_code": f"USC-{who.district_code}-{int(rng.integers(1, 60)):03d}",
        "purchased_on": _day(rng, _ago(reg.as_of, 90), reg.as_of),
        "amount_pkr": round(amount, 2),
    }


# a disaster and its season: (month, day it starts, days it lasts)
SEASONS = {
    "Monsoon floods": (7, 10, 70),
    "Flash floods": (7, 1, 90),
    "Riverine floods": (8, 1, 45),
    "Cyclone": (5, 20, 30),
}
DISASTERS = tuple(SEASONS)


def _disaster_districts(reg: _Registry) -> list[tuple[str, str, dt.date]]:
    """One or two districts hit this season, shared by the household and the area feed."""
    rng = np.random.default_rng([reg.seed, zlib.crc32(b"ndma")])
    counts = reg.registry_districts
    if counts.empty:
        return []
    prone = counts[[reg.district_province(d) in ("PK7", "PK2", "PK5", "PK6") for d in counts.index]]
    candidates = prone if len(prone) >= 2 else counts
    k = min(len(candidates), 1 + int(rng.random() < 0.6))
    chosen = rng.choice(len(candidates), size=k, replace=False, p=(candidates / candidates.sum()).to_numpy())
    out = []
    for i in sorted(chosen):
        code = candidates.index[i]
        kind = DISASTERS[int(rng.integers(len(DISASTERS)))]
        on = _in_season(rng, reg.as_of, *SEASONS[kind])
        out.append((code, f"{kind} {on.year}, {reg.district_names[code]}"[:80], on))
    return out


def _in_season(rng, as_of: dt.date, month: int, day: int, span: int) -> dt.date:
    """A day in the last season (from month/day, for span days) that ended before the snapshot."""
    start = dt.date(as_of.year, month, day)
    if start + dt.timedelta(days=span) > _ago(as_of, 20):
        start = dt.date(as_of.year - 1, month, day)
    return start + dt.timedelta(days=int(rng.integers(0, span)))


def _ndma_households(reg: _Registry, pick: _Picker, rng, matched: int, unmatched: int) -> list[dict]:
    p = pick.pool
    rows = []
    disasters = _disaster_districts(reg)
    if not disasters:
        return rows
    codes = [d[0] for d in disasters]
    heads = pick.take(matched, where=p.relation.eq("head") & p.district_code.isin(codes))
    outsiders = reg.outsiders(rng, unmatched, 0.2, districts=codes)
    by_code = {code: (name, on) for code, name, on in disasters}
    for who in _people(heads, outsiders):
        name, on = by_code.get(who.district_code, disasters[0][1:])
        rows.append(
            {
                "cnic": who.cnic,
                "event_name": name,
                "affected_on": _day(rng, on, min(reg.as_of, on + dt.timedelta(days=30))),
                "damage": _choice(rng, {"partial": 0.55, "destroyed": 0.2, "displaced": 0.25}),
            }
        )
    return rows


def _ndma_areas(reg: _Registry, pick: _Picker, rng, matched: int, unmatched: int) -> list[dict]:
    """The disaster districts themselves, and a few tehsils elsewhere (a drought, a heatwave)."""
    rows = [{"area_code": c, "event_name": n, "declared_on": on} for c, n, on in _disaster_districts(reg)]
    hit = {r["area_code"] for r in rows}
    tehsils = [t for t in reg.registry_tehsils if t[:5] not in hit]
    target = int(rng.integers(AREA_ROWS[0], AREA_ROWS[1] + 1))
    if tehsils:
        for i in sorted(rng.choice(len(tehsils), size=min(len(tehsils), target - len(rows)), replace=False)):
            code = tehsils[i]
            on = _day(rng, _ago(reg.as_of, 365), _ago(reg.as_of, 15))
            kind = _choice(rng, {"Drought": 0.4, "Heatwave": 0.3, "Flash floods": 0.2, "Earthquake": 0.1})
            rows.append(
                {
                    "area_code": code,
                    "event_name": f"{kind} {on.year}, {reg.tehsil_names[code]}"[:80],
                    "declared_on": on,
                }
            )
    return rows


def _social_welfare(reg: _Registry, pick: _Picker, rng, matched: int, unmatched: int) -> list[dict]:
    p = pick.pool
    disabled = p.disability.ne("none")
    severe = p.disability_severity.isin(["a_lot", "cannot"])
    certified = pick.take(round(matched * 0.7), where=disabled, weight=np.where(severe, 3.0, 1.0))
    unrecorded = pick.take(max(1, round(matched * 0.05)), where=~disabled)  # the survey missed it
    destitute = pick.take(
        round(matched * 0.12),
        where=p.gender.eq("female") & p.marital_status.isin(["widowed", "divorced", "separated"]),
    )
    guardians = pick.take(
        matched - len(certified) - len(unrecorded) - len(destitute), where=p.age.between(25, 70)
    )
    rows = []
    for programme, frame in (
        ("disability_certificate", certified),
        ("disability_certificate", unrecorded),
        ("destitute_women", destitute),
        ("orphan_support", guardians),
    ):
        for who in _people(frame):
            rows.append(_welfare_row(rng, reg, who.cnic, programme))
    mix = {"disability_certificate": 0.55, "orphan_support": 0.15, "destitute_women": 0.2, "other": 0.1}
    counts = rng.multinomial(unmatched, list(mix.values()))
    for programme, n in zip(mix, counts, strict=True):
        female = 1.0 if programme == "destitute_women" else 0.45
        for who in _people(reg.outsiders(rng, int(n), female)):
            rows.append(_welfare_row(rng, reg, who.cnic, programme))
    return rows


def _welfare_row(rng, reg: _Registry, cnic: str, programme: str) -> dict:
    return {
        "cnic": cnic,
        "programme": programme,
        "registered_on": _day(rng, _ago(reg.as_of, 5 * 365), reg.as_of),
    }


BUILDERS: dict[str, Builder] = {
    "nadra_citizens": _nadra_citizens,
    "crms_vital_events": _crms_vital_events,
    "ecp_electoral_rolls": _ecp_electoral_rolls,
    "fbr_taxpayers": _fbr_taxpayers,
    "excise_vehicles": _excise_vehicles,
    "fia_travel": _fia_travel,
    "agpr_employees": _agpr_employees,
    "eobi_employees": _eobi_employees,
    "cro_records": _cro_records,
    "usc_purchases": _usc_purchases,
    "ndma_households": _ndma_households,
    "ndma_areas": _ndma_areas,
    "social_welfare": _social_welfare,
}


def _generic(feed: Feed) -> Builder:
    """A feed added to feeds.yaml before it has a builder here still gets a valid (if plain) file."""

    def build(reg: _Registry, pick: _Picker, rng, matched: int, unmatched: int) -> list[dict]:
        if feed.key == "area_code":
            codes = reg.registry_tehsils[: AREA_ROWS[1]]
            return [
                {
                    n: code if n == "area_code" else _declared(n, s, rng, reg, None)
                    for n, s in feed.fields.items()
                }
                for code in codes
            ]
        people = _people(pick.take(matched), reg.outsiders(rng, unmatched, 0.5))
        return [{n: _declared(n, s, rng, reg, who) for n, s in feed.fields.items()} for who in people]

    return build


def _declared(name: str, spec: dict, rng, reg: _Registry, who) -> object:
    """Any value the declaration allows (the generic builder's only knowledge of the field)."""
    if name == "cnic" and who is not None:
        return who.cnic
    if spec.get("geography"):
        return who.district_code if who is not None else reg.registry_districts.index[0]
    if spec.get("codes"):
        return spec["codes"][int(rng.integers(len(spec["codes"])))]
    kind = spec["type"]
    if kind == "date":
        return _day(rng, _ago(reg.as_of, 365), reg.as_of)
    if kind in ("integer", "number"):
        lo, hi = spec.get("min", 0), spec.get("max", 1000)
        return int(rng.integers(lo, hi + 1)) if kind == "integer" else round(float(rng.uniform(lo, hi)), 2)
    if kind == "boolean":
        return bool(rng.random() < 0.5)
    if spec.get("pattern"):
        if spec.get("required"):
            raise ValueError(f"no demo value for {name}: add a builder to data/feeds_demo.py")
        return None
    return f"{name.upper()}-{int(rng.integers(1, 100_000))}"[: spec.get("max_length", 500)]


# --- rows, noise, malformed rows, the file ---------------------------------------------------------


def _row_counts(feed: Feed, households: int) -> tuple[int, int]:
    """(matched, unmatched) rows: scale with the registry, between a floor and a cap."""
    rows = round(households * ROWS_PER_HOUSEHOLD.get(feed.name, DEFAULT_ROWS_PER_HOUSEHOLD))
    rows = min(MAX_ROWS, max(MIN_ROWS, rows))
    matched = max(MIN_MATCHED, round(rows * MATCHED_SHARE.get(feed.name, DEFAULT_MATCHED_SHARE)))
    return matched, rows - matched


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, float):
        return f"{value:.2f}"
    return str(value)


def _dashed(cnic: str) -> str:
    return f"{cnic[:5]}-{cnic[5:12]}-{cnic[12:]}"


def _clean_rows(feed: Feed, reg: _Registry) -> list[dict[str, str]]:
    """The file's rows as text, shuffled, with the noise a loader must accept, every value checked."""
    rng = np.random.default_rng([reg.seed, zlib.crc32(feed.name.encode()), 0])
    matched, unmatched = _row_counts(feed, reg.households)
    build = BUILDERS.get(feed.name) or _generic(feed)
    typed = build(reg, _Picker(reg.pool, rng), rng, matched, unmatched)
    rows = [
        {n: _text(r.get(n)) for n in feed.fields} for r in (typed[i] for i in rng.permutation(len(typed)))
    ]
    if not rows:
        return rows
    if feed.key == "cnic":
        dashed = np.flatnonzero(rng.random(len(rows)) < DASHED_SHARE)
        for i in dashed if dashed.size else [0]:
            rows[i]["cnic"] = _dashed(rows[i]["cnic"])
    spaced = np.flatnonzero(rng.random(len(rows)) < SPACED_SHARE)
    for i in spaced if spaced.size else [int(rng.integers(len(rows)))]:
        filled = [n for n, v in rows[i].items() if v]
        name = filled[int(rng.integers(len(filled)))]
        rows[i][name] = ("{} ", " {}", "  {} ")[int(rng.integers(3))].format(rows[i][name])
    for _ in range(1 + int(rng.random() < 0.5) if len(rows) >= MIN_ROWS else 0):
        # part of a batch sent twice: exact duplicate rows
        i = int(rng.integers(len(rows)))
        rows.insert(i + 1, dict(rows[i]))
    for line, row in enumerate(rows, 2):
        for name, spec in feed.fields.items():
            problem = parse_value(spec, row[name])[1]
            if problem:
                raise ValueError(f"demo {feed.name} line {line} {name}={row[name]!r}: {problem}")
    return rows


WRONG_CODES = ("unknown", "adoption", "truck", "tourism", "under_trial", "flooded", "zakat", "engaged", "n/a")


def _malformed_kinds(feed: Feed) -> list[tuple[str, str]]:
    """(kind, field) for every kind of bad value this feed's declaration can be given."""
    fields = feed.fields
    first = {
        "bad_cnic": [n for n in fields if n == "cnic" and feed.key == "cnic"],
        "bad_date": [n for n, s in fields.items() if s["type"] == "date"],
        "bad_code": [n for n, s in fields.items() if s.get("codes")],
        "out_of_range": [
            n for n, s in fields.items() if s["type"] in ("integer", "number") and ("min" in s or "max" in s)
        ],
        "unknown_district": [n for n, s in fields.items() if s.get("geography")],
    }
    return [(kind, first[kind][0]) for kind in MALFORMED_KINDS if first[kind]]


def _bad_value(kind: str, spec: dict, value: str, rng) -> str:
    value = value.strip()
    if kind == "bad_cnic":
        digits = value.replace("-", "")
        variants = (
            digits[:-1],  # a digit lost
            digits + "7",  # a digit too many
            f"{digits[:5]}-{digits[5:11]}-{digits[11:]}",  # dashes in the wrong places
            digits[:4] + "O" + digits[5:],  # letter O for a zero
        )
        return variants[int(rng.integers(len(variants)))]
    if kind == "bad_date":
        day = dt.date.fromisoformat(value) if value else dt.date(2025, 12, 31)
        return f"{day.day:02d}/{day.month:02d}/{day.year}"
    if kind == "bad_code":
        wrong = [c for c in WRONG_CODES if c not in spec["codes"]]
        return wrong[int(rng.integers(len(wrong)))]
    if kind == "out_of_range":
        if "max" in spec and (rng.random() < 0.6 or "min" not in spec):
            return str(
                int(spec["max"]) + int(rng.integers(1, 5)) * (1 if spec["type"] == "integer" else 1000)
            )
        return str(int(spec["min"]) - int(rng.integers(1, 5)))
    return "PK999"  # unknown_district: no such district or tehsil


def _with_malformed(feed: Feed, rows: list[dict[str, str]], seed: int) -> list[dict[str, str]]:
    """The clean rows in their order, with a few rows inserted that must each fail on one value."""
    rng = np.random.default_rng([seed, zlib.crc32(feed.name.encode()), 1])
    kinds = _malformed_kinds(feed)
    if not rows or not kinds:
        return rows
    chosen = kinds + [kinds[int(rng.integers(len(kinds)))]]
    out = list(rows)
    for kind, name in chosen:
        bad = {n: v.strip() for n, v in rows[int(rng.integers(len(rows)))].items()}
        bad[name] = _bad_value(kind, feed.fields[name], bad[name], rng)
        failing = [n for n, s in feed.fields.items() if parse_value(s, bad[n])[1]]
        if failing != [name]:
            raise ValueError(f"demo {feed.name}: a {kind} row fails on {failing}, not on {name} alone")
        out.insert(int(rng.integers(len(out) + 1)), bad)
    return out


def _write_csv(path: Path, feed: Feed, rows: list[dict[str, str]]) -> None:
    with open(path, "w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(list(feed.fields))
        writer.writerows([row[n] for n in feed.fields] for row in rows)


def write_demo_feeds(
    snapshot_path: Path, out_dir: Path, seed: int = 1, feeds: list[str] | None = None, malformed: bool = False
) -> dict[str, Path]:
    """Write one demo CSV per feed (all of ``feeds.yaml``, or the ones named) for a snapshot.

    The same snapshot and seed (a whole number, 0 or more) give byte-identical files. ``malformed``
    adds to every file a few rows with one bad value each (a CNIC, a date, a code, a number out of
    range, a district), leaving the other rows exactly as without it. Returns {feed name: path}.
    """
    declared = load_feeds()
    names = list(declared.feeds) if feeds is None else [declared[n].name for n in feeds]
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(snapshot_path), read_only=True)
    try:
        reg = _read_registry(con, seed)
        written = {}
        for name in names:
            feed = declared[name]
            rows = _clean_rows(feed, reg)
            if malformed:
                rows = _with_malformed(feed, rows, seed)
            written[name] = out_dir / f"{name}.csv"
            _write_csv(written[name], feed, rows)
    finally:
        con.close()
    return written
