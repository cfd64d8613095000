"""Small per-unit parameters that make the synthetic registry match the census.

Everything here runs on a few thousand rows (tehsils, districts, villages) in pandas/numpy; the
millions of households and members are then drawn in set-based SQL from these tables.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from data import geography

AGE_BANDS = [
    (0, 5),
    (5, 5),
    (10, 5),
    (15, 5),
    (20, 5),
    (25, 5),
    (30, 5),
    (35, 5),
    (40, 5),
    (45, 5),
    (50, 5),
    (55, 5),
    (60, 5),
    (65, 5),
    (70, 5),
    (75, 15),
]
SEXES = ("male", "female", "transgender")
SLOTS = 4000  # resolution of the age × sex lookup per district (0.025 %)

EDUCATION_YEARS = {
    "none": 0,
    "below_primary": 3,
    "primary": 5,
    "middle": 8,
    "matric": 10,
    "intermediate": 12,
    "graduate": 14,
    "postgraduate": 16,
}


def apportion(total: int, weights: np.ndarray) -> np.ndarray:
    """Largest-remainder apportionment of ``total`` over ``weights`` (sums exactly to total)."""
    weights = np.asarray(weights, dtype=float)
    if total == 0 or weights.sum() <= 0:
        return np.zeros(len(weights), dtype=np.int64)
    quota = weights / weights.sum() * total
    base = np.floor(quota).astype(np.int64)
    short = int(total - base.sum())
    if short:
        order = np.argsort(-(quota - base), kind="stable")
        base[order[:short]] += 1
    return base


def apportion_within(totals: pd.Series, weights: pd.Series, groups: pd.Series) -> np.ndarray:
    """Largest-remainder apportionment inside each group at once (``totals`` is the group's total)."""
    w = weights.astype(float).to_numpy()
    wsum = pd.Series(w).groupby(groups.to_numpy()).transform("sum").to_numpy()
    quota = np.where(wsum > 0, totals.to_numpy() * w / np.where(wsum > 0, wsum, 1), 0)
    base = np.floor(quota).astype(np.int64)
    short = totals.to_numpy() - pd.Series(base).groupby(groups.to_numpy()).transform("sum").to_numpy()
    frame = pd.DataFrame({"g": groups.to_numpy(), "rem": quota - base, "pos": np.arange(len(w))})
    rank = frame.sort_values(["g", "rem", "pos"], ascending=[True, False, True]).groupby("g").cumcount()
    base[rank.index.to_numpy()] += (rank.to_numpy() < short[rank.index.to_numpy()]).astype(np.int64)
    return base


def allocate_households(total: int, coverage: dict[str, float], gaz: geography.Gazetteer) -> pd.DataFrame:
    """Households per village: census households × registry coverage, apportioned down the tree.

    Returns one row per village with at least one household, in geographic order, with the
    household id range ``[hh_start, hh_start + hh_count)``.
    """
    t = geography.tehsils()
    strata = (
        pd.concat(
            [
                pd.DataFrame(
                    {
                        "tehsil_code": t.tehsil_code,
                        "urban_rural": "urban",
                        "w": t.households_urban * coverage["urban"],
                    }
                ),
                pd.DataFrame(
                    {
                        "tehsil_code": t.tehsil_code,
                        "urban_rural": "rural",
                        "w": t.households_rural * coverage["rural"],
                    }
                ),
            ]
        )
        .sort_values(["tehsil_code", "urban_rural"], kind="stable")
        .reset_index(drop=True)
    )
    strata = strata[strata.w > 0].reset_index(drop=True)
    strata["n"] = apportion(total, strata.w.to_numpy())

    ucs = gaz.union_councils.merge(
        strata[["tehsil_code", "urban_rural", "n"]], on=["tehsil_code", "urban_rural"]
    )
    ucs["n_uc"] = apportion_within(ucs.n, ucs.households_census, ucs.tehsil_code + ":" + ucs.urban_rural)
    v = gaz.villages.merge(ucs[["uc_code", "uc_name", "tehsil_code", "urban_rural", "n_uc"]], on="uc_code")
    v["hh_count"] = apportion_within(v.n_uc, v.weight, v.uc_code)
    v = v[v.hh_count > 0].sort_values("village_code").reset_index(drop=True)
    v["hh_start"] = np.concatenate([[1], 1 + np.cumsum(v.hh_count.to_numpy())[:-1]]).astype(np.int64)
    return v


def tehsil_parameters(cfg: dict) -> pd.DataFrame:
    """Per-tehsil shares as cumulative thresholds (worst category first) and other rates in 0–1."""
    t = geography.tehsils().copy()
    pct = lambda c: t[c].astype(float).clip(lower=0) / 100.0  # noqa: E731

    def cum(cols: list[str]) -> list[pd.Series]:
        parts = [pct(c) for c in cols]
        total = sum(parts)
        total = total.where(total > 0, 1.0)
        running, out = 0, []
        for p in parts[:-1]:
            running = running + p / total
            out.append(running)
        return out

    p = pd.DataFrame({"tehsil_code": t.tehsil_code})
    (p["c_kacha"], p["c_semi"]) = cum(
        ["hh_structure_kacha_pct", "hh_structure_semi_pakka_pct", "hh_structure_pakka_pct"]
    )
    (p["c_room1"], p["c_room2"], p["c_room3"]) = cum(
        ["hh_rooms_1_pct", "hh_rooms_2_pct", "hh_rooms_3_pct", "hh_rooms_4plus_pct"]
    )
    (p["c_toilet_none"], p["c_toilet_nonflush"]) = cum(
        ["hh_toilet_none_pct", "hh_toilet_non_flush_pct", "hh_toilet_flush_pct"]
    )
    (p["c_light_other"], p["c_light_solar"]) = cum(
        ["hh_light_other_pct", "hh_light_solar_pct", "hh_light_electricity_pct"]
    )
    (p["c_cook_firewood"], p["c_cook_other"], p["c_cook_lpg"]) = cum(
        [
            "hh_cooking_firewood_pct",
            "hh_cooking_other_pct",
            "hh_cooking_lpg_pct",
            "hh_cooking_gas_pipeline_pct",
        ]
    )
    (p["c_ten_owned"], p["c_ten_rented"], p["c_ten_free"]) = cum(
        ["hh_owned_pct", "hh_rented_pct", "hh_rent_free_pct", "hh_tenure_other_pct"]
    )
    # Water: unimproved first, then improved sources from worst to best, scaled to the improved share.
    improved = pct("hh_water_improved_pct").clip(0, 1)
    srcs = [
        "hh_water_well_hand_pump_pct",
        "hh_water_motor_pump_pct",
        "hh_water_tap_pct",
        "hh_water_filtration_plant_pct",
        "hh_water_bottled_pct",
    ]
    parts = [pct(c) for c in srcs]
    tot = sum(parts)
    tot = tot.where(tot > 0, 1.0)
    running = 1 - improved
    p["c_water_unimproved"] = running
    for name, part in zip(
        ["c_water_hand", "c_water_motor", "c_water_tap", "c_water_filter"], parts[:-1], strict=True
    ):
        running = running + improved * part / tot
        p[name] = running

    hh = (t.households_urban + t.households_rural).clip(lower=1)
    p["urban_share"] = t.households_urban / hh
    p["size_urban"] = (
        (t.population_urban / t.households_urban.where(t.households_urban > 0)).fillna(6.3).clip(3, 12)
    )
    p["size_rural"] = (
        (t.population_rural / t.households_rural.where(t.households_rural > 0)).fillna(6.3).clip(3, 12)
    )
    lit_all = pct("literacy_rate_10plus_pct").clip(0.02, 0.99)
    p["lit_male"] = pct("literacy_rate_10plus_male_pct").clip(0.02, 0.99)
    p["lit_female"] = pct("literacy_rate_10plus_female_pct").clip(0.01, 0.99)
    p["lit_all"] = lit_all
    p["lit_urban_ratio"] = (pct("literacy_rate_10plus_urban_pct") / lit_all).clip(0.5, 2.0)
    p["lit_rural_ratio"] = (pct("literacy_rate_10plus_rural_pct") / lit_all).clip(0.3, 2.0)
    p["oos_male"] = pct("out_of_school_5_16_male_pct").clip(0, 0.98)
    p["oos_female"] = pct("out_of_school_5_16_female_pct").clip(0, 0.98)
    p["dis_male"] = pct("disability_prevalence_male_pct").clip(0, 0.5)
    p["dis_female"] = pct("disability_prevalence_female_pct").clip(0, 0.5)
    # A tehsil welfare index from census indicators (z-scores, household-weighted), used for assets.
    comps = [
        pct("hh_structure_pakka_pct"),
        pct("hh_toilet_flush_pct"),
        pct("hh_light_electricity_pct"),
        pct("hh_cooking_gas_pipeline_pct") + pct("hh_cooking_lpg_pct"),
        lit_all,
    ]
    zs = []
    for c in comps:
        m = np.average(c, weights=hh)
        s = np.sqrt(np.average((c - m) ** 2, weights=hh))
        zs.append((c - m) / s)
    idx = sum(zs) / len(zs)
    p["welfare_index"] = idx / np.sqrt(np.average(idx**2, weights=hh))
    p["province_code"] = t.province_code
    p["district_code"] = t.district_code
    p["division_code"] = t.division_code
    p["tehsil_index"] = t.tehsil_index
    return p


def logistic(x):
    return 1.0 / (1.0 + np.exp(-x))


def asset_intercepts(cfg: dict, params: pd.DataFrame, weights: np.ndarray) -> dict[str, float]:
    """Intercepts so each asset's national ownership matches its configured share.

    Ownership is logistic(a + slope × (0.6 × tehsil index + 0.8 × household latent)); ``a`` is solved by
    bisection against the household-weighted distribution of the tehsil index, integrating the
    household latent over a fixed normal grid.
    """
    grid = np.linspace(-4, 4, 81)
    gw = np.exp(-(grid**2) / 2)
    gw /= gw.sum()
    mu = params.welfare_index.to_numpy()
    w = weights / weights.sum()
    out = {}
    for name, spec in cfg["assets"].items():
        slope, target = spec["slope"], spec["share"]
        x = 0.6 * mu[:, None] + 0.8 * grid[None, :]
        lo, hi = -15.0, 15.0
        for _ in range(60):
            a = (lo + hi) / 2
            share = float((w[:, None] * gw[None, :] * logistic(a + slope * x)).sum())
            lo, hi = (a, hi) if share < target else (lo, a)
        out[name] = (lo + hi) / 2
    return out


def _head_and_spouse_shapes(cfg: dict) -> tuple[np.ndarray, np.ndarray]:
    """Expected share of heads and of wives in each age band × sex, per household (fixed Monte Carlo)."""
    rng = np.random.default_rng(12345)
    n = 400_000
    bands = cfg["head"]["age_bands"]
    probs = np.array([b[2] for b in bands], dtype=float)
    probs /= probs.sum()
    pick = rng.choice(len(bands), n, p=probs)
    lo = np.array([b[0] for b in bands])[pick]
    hi = np.array([b[1] for b in bands])[pick]
    age = lo + np.floor(rng.random(n) * (hi - lo + 1)).astype(int)
    female = rng.random(n) < cfg["head"]["female_share"]
    married_male = (~female) & (rng.random(n) < 0.92)
    wife = married_male & (rng.random(n) < cfg["head"]["spouse_present"])
    gap_lo, gap_hi = cfg["head"]["spouse_age_gap"]
    wife_age = np.maximum(16, age - (gap_lo + np.floor(rng.random(n) * (gap_hi - gap_lo + 1)).astype(int)))
    heads = np.zeros((len(AGE_BANDS), 3))
    wives = np.zeros((len(AGE_BANDS), 3))
    for b, (start, width) in enumerate(AGE_BANDS):
        in_band = (age >= start) & (age < start + width)
        heads[b, 0] = np.sum(in_band & ~female) / n
        heads[b, 1] = np.sum(in_band & female) / n
        w_in = (wife_age >= start) & (wife_age < start + width)
        wives[b, 1] = np.sum(w_in & wife) / n
    return heads, wives


def residual_age_sex(
    cfg: dict, alloc: pd.DataFrame, params: pd.DataFrame
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Age × sex distribution for members other than head and wife, per district.

    The census pyramid (scaled to the expected number of members) minus the expected heads and
    wives leaves the distribution the other members must follow for the district to match the census.
    Returns (slot lookup table, residual shares per district × band × sex).
    """
    a = geography.age_sex()
    heads, wives = _head_and_spouse_shapes(cfg)
    p = params.set_index("tehsil_code")
    hh = alloc.groupby(["tehsil_code", "urban_rural"]).hh_count.sum().reset_index()
    hh["size"] = np.where(
        hh.urban_rural == "urban", hh.tehsil_code.map(p.size_urban), hh.tehsil_code.map(p.size_rural)
    )
    hh["members"] = hh.hh_count * hh["size"]
    hh["district_code"] = hh.tehsil_code.map(p.district_code)
    per_d = hh.groupby("district_code")[["hh_count", "members"]].sum()
    band_index = {f"{s}-{s + w - 1}" if s < 75 else "75+": i for i, (s, w) in enumerate(AGE_BANDS)}
    rows, shares = [], []
    for d, g in a.groupby("district_code"):
        if d not in per_d.index:
            continue
        pyr = np.zeros((len(AGE_BANDS), 3))
        for r in g.itertuples():
            b = band_index[r.age_group]
            pyr[b] += (r.male, r.female, r.transgender)
        pyr = pyr / pyr.sum()
        n_hh, n_mem = per_d.loc[d, "hh_count"], per_d.loc[d, "members"]
        resid = pyr * n_mem - (heads + wives) * n_hh
        resid = np.clip(resid, 0, None)
        resid = resid / resid.sum()
        cum = np.cumsum(resid.ravel())
        slot_cells = np.searchsorted(cum, (np.arange(SLOTS) + 0.5) / SLOTS)
        slot_cells = np.minimum(slot_cells, resid.size - 1)
        band, sex = np.divmod(slot_cells, 3)
        rows.append(
            pd.DataFrame(
                {
                    "district_code": d,
                    "slot": np.arange(SLOTS, dtype=np.int32),
                    "age_start": np.array([AGE_BANDS[b][0] for b in band], dtype=np.int16),
                    "age_width": np.array([AGE_BANDS[b][1] for b in band], dtype=np.int16),
                    "sex": [SEXES[s] for s in sex],
                }
            )
        )
        shares.append(
            pd.DataFrame(
                {
                    "district_code": d,
                    "band": np.repeat(np.arange(len(AGE_BANDS)), 3),
                    "sex": list(SEXES) * len(AGE_BANDS),
                    "share": resid.ravel(),
                }
            )
        )
    return pd.concat(rows, ignore_index=True), pd.concat(shares, ignore_index=True)


def marital_parameters(
    cfg: dict, alloc: pd.DataFrame, params: pd.DataFrame, shares: pd.DataFrame
) -> pd.DataFrame:
    """Age at which half of other members are ever-married (a50), per district and sex.

    Solved so that the district's never-married share among people 15+ (heads and wives counted as
    ever-married) equals the census share.
    """
    m = geography.marital_status()
    heads, wives = _head_and_spouse_shapes(cfg)
    p = params.set_index("tehsil_code")
    hh = alloc.groupby("tehsil_code").hh_count.sum()
    n_hh = hh.groupby(hh.index.map(p.district_code)).sum()
    members_total = (
        alloc.assign(
            size=np.where(
                alloc.urban_rural == "urban",
                alloc.tehsil_code.map(p.size_urban),
                alloc.tehsil_code.map(p.size_rural),
            )
            * alloc.hh_count
        )
        .groupby(alloc.tehsil_code.map(p.district_code))["size"]
        .sum()
    )
    ages = np.arange(0, 90)
    band_of_age = np.array([next(i for i, (s, w) in enumerate(AGE_BANDS) if s <= a < s + w) for a in ages])
    width = np.array([AGE_BANDS[b][1] for b in band_of_age], dtype=float)
    out = []
    for d, g in m.groupby("district_code"):
        if d not in n_hh.index:
            continue
        sh = shares[shares.district_code == d]
        others = n_hh[d] * 0 + members_total[d] - n_hh[d] * (1 + wives[:, 1].sum())
        row = {"district_code": d}
        for s_idx, sex in enumerate(("male", "female")):
            col = f"{sex}_15plus"
            total = g[col].sum()
            target_nm = g.loc[g.marital_status == "Never Married", col].sum() / total if total else 0.25
            resid = sh[sh.sex == sex].set_index("band").share
            per_age = resid.reindex(band_of_age).to_numpy() / width * others
            adult = ages >= 15
            heads_adult = (heads[3:, s_idx].sum() + wives[3:, s_idx].sum()) * n_hh[d]
            heads_nm = heads[3:, s_idx].sum() * n_hh[d] * (0.02 if sex == "male" else 0.02)
            k = cfg["marital"]["k"][sex]
            lo, hi = 10.0, 45.0
            for _ in range(50):
                a50 = (lo + hi) / 2
                never = per_age[adult] * (1 - logistic((ages[adult] - a50) / k))
                share = (never.sum() + heads_nm) / (per_age[adult].sum() + heads_adult)
                lo, hi = (lo, a50) if share > target_nm else (a50, hi)
            row[f"a50_{sex}"] = (lo + hi) / 2
        out.append(row)
    return pd.DataFrame(out)


def district_age_factor_norms(factors: dict[str, list[tuple[int, float]]]) -> pd.DataFrame:
    """Mean of each age-gradient factor over a district's census population (keeps rates unbiased).

    A rate is applied as ``district rate × factor(age) / mean factor``, so the district's overall rate
    stays the census rate while the young are more literate and the old more often disabled.
    """
    a = geography.age_sex()
    a = a.assign(mid=a.age_group_start + np.where(a.age_group_start >= 75, 7.5, 2.5))
    rows = []
    for d, g in a.groupby("district_code"):
        row = {"district_code": d}
        for name, steps in factors.items():
            minimum = steps[0][0]
            sub = g[g.mid >= minimum]
            f = sub.mid.map(lambda m, st=steps: next(val for lo, val in reversed(st) if m >= lo))
            row[name] = float((f * sub.total).sum() / sub.total.sum())
        rows.append(row)
    return pd.DataFrame(rows)
