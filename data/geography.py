"""Reference geography: census 2023 units, AJK/GB estimates and the synthetic gazetteer below tehsils.

Province, division, district and tehsil units and their census figures are real (``reference/``).
Union councils and villages are not published anywhere we could find, so a *synthetic gazetteer* is
derived from the census: about one union council per 25,000 rural or 40,000 urban residents, 3–12
settlements each, plausible names built from regional name parts, and points inside the district
polygon. It depends only on the census and a fixed gazetteer seed, so codes stay stable across builds.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

REFERENCE_DIR = Path(__file__).resolve().parent / "reference"


def reference_path(name: str) -> Path:
    return REFERENCE_DIR / name


@cache
def _csv(name: str) -> pd.DataFrame:
    return pd.read_csv(reference_path(name), keep_default_na=True)


@cache
def names() -> dict:
    with open(reference_path("names.yaml"), encoding="utf-8") as fh:
        return yaml.safe_load(fh)


def provinces() -> pd.DataFrame:
    return _csv("pak_provinces.csv")


def divisions() -> pd.DataFrame:
    return _csv("pak_divisions.csv")


def districts() -> pd.DataFrame:
    return _csv("pak_districts.csv")


@cache
def urdu_names() -> dict[str, str]:
    df = _csv("urdu_names.csv")
    return dict(zip(df["code"], df["name_ur"], strict=True))


INDICATOR_COLUMNS = [
    "literacy_rate_10plus_pct",
    "literacy_rate_10plus_male_pct",
    "literacy_rate_10plus_female_pct",
    "literacy_rate_10plus_rural_pct",
    "literacy_rate_10plus_urban_pct",
    "out_of_school_5_16_pct",
    "out_of_school_5_16_male_pct",
    "out_of_school_5_16_female_pct",
    "disability_prevalence_pct",
    "disability_prevalence_male_pct",
    "disability_prevalence_female_pct",
    "hh_structure_kacha_pct",
    "hh_structure_semi_pakka_pct",
    "hh_structure_pakka_pct",
    "hh_rooms_1_pct",
    "hh_rooms_2_pct",
    "hh_rooms_3_pct",
    "hh_rooms_4plus_pct",
    "hh_owned_pct",
    "hh_rented_pct",
    "hh_rent_free_pct",
    "hh_tenure_other_pct",
    "hh_toilet_flush_pct",
    "hh_toilet_non_flush_pct",
    "hh_toilet_none_pct",
    "hh_water_improved_pct",
    "hh_water_tap_pct",
    "hh_water_motor_pump_pct",
    "hh_water_well_hand_pump_pct",
    "hh_water_filtration_plant_pct",
    "hh_water_bottled_pct",
    "hh_light_electricity_pct",
    "hh_light_solar_pct",
    "hh_light_other_pct",
    "hh_cooking_gas_pipeline_pct",
    "hh_cooking_lpg_pct",
    "hh_cooking_firewood_pct",
    "hh_cooking_other_pct",
]


@cache
def tehsils() -> pd.DataFrame:
    """One row per tehsil with names, census households/population by urban/rural and indicators.

    AJK and GB districts, which the census does not cover, get one synthetic tehsil each, sized from
    ``ajk_gb_estimates.csv`` and with the indicator shares of a proxy census district.
    """
    pop = _csv("census2023_tehsil_population.csv")
    ind = _csv("census2023_tehsil_indicators.csv")
    dind = _csv("census2023_district_indicators.csv").set_index("district_code")
    dist = districts().set_index("district_code")
    t = pop[
        [
            "tehsil_code",
            "tehsil",
            "district_code",
            "province_code",
            "population_urban",
            "population_rural",
            "households_urban",
            "households_rural",
        ]
    ].merge(ind[["tehsil_code", *INDICATOR_COLUMNS]], on="tehsil_code", how="left")
    # Fill gaps in tehsil indicators (no urban area, say) from the district's rate.
    for col in INDICATOR_COLUMNS:
        t[col] = t[col].fillna(t["district_code"].map(dind[col])).astype(float)
    for col in ("literacy_rate_10plus_rural_pct", "literacy_rate_10plus_urban_pct"):
        t[col] = t[col].fillna(t["literacy_rate_10plus_pct"])
    t["synthetic_tehsil"] = False
    t["proxy_district_code"] = t["district_code"]

    est = _csv("ajk_gb_estimates.csv")
    rows = []
    for e in est.itertuples():
        hh = e.population_estimate / e.avg_household_size
        urban = e.urban_share_pct / 100
        row = {
            "tehsil_code": f"{e.district_code}T01",
            "tehsil": e.district,
            "district_code": e.district_code,
            "province_code": dist.loc[e.district_code, "province_code"],
            "population_urban": round(e.population_estimate * urban),
            "population_rural": round(e.population_estimate * (1 - urban)),
            "households_urban": round(hh * urban),
            "households_rural": round(hh * (1 - urban)),
            "synthetic_tehsil": True,
            "proxy_district_code": e.proxy_district_code,
        }
        for col in INDICATOR_COLUMNS:
            row[col] = dind.loc[e.proxy_district_code, col]
        rows.append(row)
    t = pd.concat([t, pd.DataFrame(rows)], ignore_index=True)
    t["division_code"] = t["district_code"].map(dist["division_code"])
    t["district_name"] = t["district_code"].map(dist["district"])
    t["division_name"] = t["district_code"].map(dist["division"])
    t["province_name"] = t["district_code"].map(dist["province"])
    t = t.rename(columns={"tehsil": "tehsil_name"})
    for col in ("population_urban", "population_rural", "households_urban", "households_rural"):
        t[col] = t[col].fillna(0).astype("int64")
    t = t.sort_values("tehsil_code").reset_index(drop=True)
    # Index of the tehsil within its province: the synthetic NADRA locality digits of CNICs.
    t["tehsil_index"] = t.groupby("province_code").cumcount() + 1
    return t


@cache
def age_sex() -> pd.DataFrame:
    """Census population by district × 5-year age group × sex (AJK/GB take their proxy district's)."""
    a = _csv("census2023_district_age_sex.csv")
    est = _csv("ajk_gb_estimates.csv")
    extra = []
    for e in est.itertuples():
        p = a[a.district_code == e.proxy_district_code].copy()
        p["district_code"] = e.district_code
        extra.append(p)
    return pd.concat([a, *extra], ignore_index=True)


@cache
def marital_status() -> pd.DataFrame:
    """Census population 15+ by district × marital status × sex (AJK/GB take their proxy's)."""
    m = _csv("census2023_district_marital_status_15plus.csv")
    est = _csv("ajk_gb_estimates.csv")
    extra = []
    for e in est.itertuples():
        p = m[m.district_code == e.proxy_district_code].copy()
        p["district_code"] = e.district_code
        extra.append(p)
    return pd.concat([m, *extra], ignore_index=True)


# --- district polygons and points inside them -------------------------------------------------------


@cache
def district_rings() -> dict[str, list[np.ndarray]]:
    """All rings (outer and holes) of each district polygon, as arrays of lon/lat."""
    with open(reference_path("pak_districts.geojson"), encoding="utf-8") as fh:
        gj = json.load(fh)
    rings: dict[str, list[np.ndarray]] = {}
    for feat in gj["features"]:
        geom = feat["geometry"]
        polys = geom["coordinates"] if geom["type"] == "MultiPolygon" else [geom["coordinates"]]
        rings[feat["properties"]["district_code"]] = [np.asarray(r, dtype=float) for p in polys for r in p]
    return rings


def points_inside(rings: list[np.ndarray], lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    """Even-odd ray casting over every ring: True where the point lies inside the polygon."""
    inside = np.zeros(lon.shape, dtype=bool)
    for ring in rings:
        x1, y1 = ring[:-1, 0][:, None], ring[:-1, 1][:, None]
        x2, y2 = ring[1:, 0][:, None], ring[1:, 1][:, None]
        crosses = (y1 > lat) != (y2 > lat)
        with np.errstate(divide="ignore", invalid="ignore"):
            xcross = (x2 - x1) * (lat - y1) / (y2 - y1) + x1
        inside ^= np.count_nonzero(crosses & (lon < xcross), axis=0) % 2 == 1
    return inside


def sample_points(
    district_code: str,
    n: int,
    rng: np.random.Generator,
    centre: tuple[float, float] | None = None,
    spread: float | None = None,
) -> np.ndarray:
    """n points inside the district: uniform, or normal around ``centre`` with ``spread`` degrees."""
    rings = district_rings()[district_code]
    allpts = np.concatenate(rings)
    lo, hi = allpts.min(axis=0), allpts.max(axis=0)
    out = np.empty((0, 2))
    for _ in range(60):
        need = n - len(out)
        if need <= 0:
            break
        k = max(need * 3, 16)
        if centre is None:
            cand = rng.uniform(lo, hi, size=(k, 2))
        else:
            cand = np.asarray(centre) + rng.normal(0, spread, size=(k, 2))
        ok = points_inside(rings, cand[:, 0], cand[:, 1])
        out = np.vstack([out, cand[ok][:need]])
    if len(out) < n:  # a sliver district: fall back to points on its label location
        lab = districts().set_index("district_code").loc[district_code, ["label_lon", "label_lat"]]
        out = np.vstack([out, np.tile(lab.to_numpy(dtype=float), (n - len(out), 1))])
    return out


# --- synthetic gazetteer -----------------------------------------------------------------------------


@dataclass(frozen=True)
class Gazetteer:
    union_councils: pd.DataFrame
    villages: pd.DataFrame
    schools: pd.DataFrame


def _place_name(rng: np.random.Generator, province: str, n: int) -> list[str]:
    nm = names()
    prefix = nm["place_prefix"][province]
    roots, suffixes, qualifiers = nm["place_root"], nm["place_suffix"], nm["place_qualifier"]
    out = []
    for _ in range(n):
        root = roots[rng.integers(len(roots))].replace(" ", "")
        style = rng.random()
        if style < 0.4:
            name = f"{prefix[rng.integers(len(prefix))]} {root}"
        elif style < 0.8:
            name = f"{root}{suffixes[rng.integers(len(suffixes))]}"
        else:
            name = f"{prefix[rng.integers(len(prefix))]} {root}{suffixes[rng.integers(len(suffixes))]}"
        if rng.random() < 0.12:
            name = f"{name} {qualifiers[rng.integers(len(qualifiers))]}"
        out.append(name)
    return out


def _unique(names_: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    out = []
    for n in names_:
        k = seen.get(n, 0)
        seen[n] = k + 1
        out.append(n if k == 0 else f"{n} {['', 'II', 'III', 'IV', 'V', 'VI'][min(k, 5)] or k + 1}")
    return out


@cache
def gazetteer(seed: int = 2023, uc_people_urban: int = 40000, uc_people_rural: int = 25000) -> Gazetteer:
    """Union councils, villages and schools for every tehsil; deterministic for a given seed."""
    rng = np.random.default_rng(seed)
    nm = names()
    dist = districts().set_index("district_code")
    uc_rows, village_rows, school_rows = [], [], []
    for t in tehsils().itertuples():
        serial = 0
        for area, people, households in (
            ("urban", t.population_urban, t.households_urban),
            ("rural", t.population_rural, t.households_rural),
        ):
            if households <= 0:
                continue
            n_uc = max(1, round(people / (uc_people_urban if area == "urban" else uc_people_rural)))
            weights = rng.lognormal(0, 0.3, n_uc)
            weights = weights / weights.sum()
            if area == "urban":
                centre = tuple(dist.loc[t.district_code, ["label_lon", "label_lat"]].astype(float))
                pts = sample_points(t.district_code, n_uc, rng, centre=centre, spread=0.04)
                roots = _place_name(rng, t.province_code, n_uc)
                areas = nm["urban_area"]
                uc_names = [f"{r} {areas[rng.integers(len(areas))]}" for r in roots]
            else:
                pts = sample_points(t.district_code, n_uc, rng)
                uc_names = _place_name(rng, t.province_code, n_uc)
            uc_names = _unique(uc_names)
            for i in range(n_uc):
                serial += 1
                uc_code = f"{t.tehsil_code}U{serial:03d}"
                uc_rows.append(
                    (uc_code, uc_names[i], t.tehsil_code, area, households * weights[i], pts[i, 0], pts[i, 1])
                )
                n_v = int(rng.integers(3, 9) if area == "urban" else rng.integers(4, 13))
                vw = rng.lognormal(0, 0.6, n_v)
                vw = vw / vw.sum()
                vpts = sample_points(
                    t.district_code,
                    n_v,
                    rng,
                    centre=(pts[i, 0], pts[i, 1]),
                    spread=0.01 if area == "urban" else 0.03,
                )
                if area == "urban":
                    blocks = _place_name(rng, t.province_code, n_v)
                    vnames = [f"{b} {nm['urban_area'][rng.integers(len(nm['urban_area']))]}" for b in blocks]
                else:
                    vnames = _place_name(rng, t.province_code, n_v)
                vnames = _unique(vnames)
                for j in range(n_v):
                    village_rows.append(
                        (f"{uc_code}V{j + 1:03d}", vnames[j], uc_code, vw[j], vpts[j, 0], vpts[j, 1])
                    )
                n_s = int(rng.integers(2, 6))
                for k in range(n_s):
                    kind = rng.choice(["government", "private", "ngo", "madrassa"], p=[0.6, 0.25, 0.05, 0.1])
                    level = rng.choice(["primary", "secondary", "higher_secondary"], p=[0.6, 0.3, 0.1])
                    place = vnames[int(rng.integers(n_v))]
                    school_rows.append(
                        (
                            uc_code,
                            t.tehsil_code,
                            t.district_code,
                            k,
                            kind,
                            level,
                            place,
                            rng.random(),
                            rng.random(),
                            rng.random(),
                            rng.random(),
                        )
                    )
    ucs = pd.DataFrame(
        uc_rows,
        columns=[
            "uc_code",
            "uc_name",
            "tehsil_code",
            "urban_rural",
            "households_census",
            "longitude",
            "latitude",
        ],
    )
    villages = pd.DataFrame(
        village_rows, columns=["village_code", "village_name", "uc_code", "weight", "longitude", "latitude"]
    )
    schools = _schools(
        pd.DataFrame(
            school_rows,
            columns=[
                "uc_code",
                "tehsil_code",
                "district_code",
                "k",
                "school_type",
                "highest_level",
                "place",
                "r1",
                "r2",
                "r3",
                "r4",
            ],
        )
    )
    return Gazetteer(ucs, villages, schools)


def _schools(s: pd.DataFrame) -> pd.DataFrame:
    """Names and facilities of the synthetic schools."""
    level_word = {
        "primary": "Primary School",
        "secondary": "High School",
        "higher_secondary": "Higher Secondary School",
    }
    names_ = []
    for r in s.itertuples():
        if r.school_type == "government":
            sex = "Girls" if r.r1 < 0.45 else "Boys"
            names_.append(f"Government {sex} {level_word[r.highest_level]} {r.place}")
        elif r.school_type == "private":
            names_.append(f"{r.place} Public {level_word[r.highest_level]}")
        elif r.school_type == "ngo":
            names_.append(f"{r.place} Community {level_word[r.highest_level]} (TCF-type trust)")
        else:
            names_.append(f"Madrassa Talim-ul-Quran {r.place}")
    better = s["school_type"].ne("government").to_numpy()
    out = pd.DataFrame(
        {
            "school_id": np.arange(1, len(s) + 1, dtype="int32"),
            "school_name": names_,
            "school_type": s["school_type"],
            "district_code": s["district_code"],
            "tehsil_code": s["tehsil_code"],
            "uc_code": s["uc_code"],
            "highest_level": s["highest_level"],
            "has_boundary_wall": s["r1"] < np.where(better, 0.9, 0.7),
            "has_toilets": s["r2"] < np.where(better, 0.9, 0.75),
            "has_electricity": s["r3"] < np.where(better, 0.85, 0.65),
            "has_drinking_water": s["r4"] < np.where(better, 0.9, 0.7),
        }
    )
    return out


def geo_units(gaz: Gazetteer) -> pd.DataFrame:
    """All geographic units, province to village, with parent, names (English and Urdu) and a point."""
    ur = urdu_names()
    t = tehsils()
    prov = provinces()
    div = divisions()
    dist = districts()
    rows = []
    for p in prov.itertuples():
        rows.append(("province", p.province_code, p.province, None, p.province_code, None, None, None))
    for d in div.itertuples():
        rows.append(
            ("division", d.division_code, d.division, d.province_code, d.province_code, None, None, None)
        )
    for d in dist.itertuples():
        rows.append(
            (
                "district",
                d.district_code,
                d.district,
                d.division_code,
                d.province_code,
                d.district_code,
                d.label_lon,
                d.label_lat,
            )
        )
    for x in t.itertuples():
        rows.append(
            (
                "tehsil",
                x.tehsil_code,
                x.tehsil_name,
                x.district_code,
                x.province_code,
                x.district_code,
                None,
                None,
            )
        )
    df = pd.DataFrame(
        rows,
        columns=[
            "level",
            "code",
            "name",
            "parent_code",
            "province_code",
            "district_code",
            "longitude",
            "latitude",
        ],
    )
    tehsil_district = dict(zip(t.tehsil_code, t.district_code, strict=True))
    tehsil_province = dict(zip(t.tehsil_code, t.province_code, strict=True))
    ucs = gaz.union_councils
    uc_df = pd.DataFrame(
        {
            "level": "union_council",
            "code": ucs.uc_code,
            "name": ucs.uc_name,
            "parent_code": ucs.tehsil_code,
            "province_code": ucs.tehsil_code.map(tehsil_province),
            "district_code": ucs.tehsil_code.map(tehsil_district),
            "longitude": ucs.longitude,
            "latitude": ucs.latitude,
        }
    )
    df = pd.concat([df, uc_df], ignore_index=True)
    df["name_ur"] = df["code"].map(ur)
    df["urban_rural"] = df["code"].map(dict(zip(ucs.uc_code, ucs.urban_rural, strict=True)))
    return df
