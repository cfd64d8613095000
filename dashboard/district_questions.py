"""What a district dashboard asks the gateway — defined once, for its charts, its downloads and for
precomputing every district's answers when a snapshot is served.

The public dashboards depend only on the snapshot and the district (labels and language are applied
after the answers), so the answers for all districts are computed once, before SERVING names the new
snapshot, into the answer cache every app worker and node shares. A visitor then never waits for them,
and under load no worker computes what another already did (bench/load_test.py).
"""

from __future__ import annotations

import time

from data import geography


def province_of(district: str) -> str | None:
    d = geography.districts().set_index("district_code")
    return d.loc[district, "province_code"] if district in d.index else None


def section_queries(district: str) -> dict[str, dict]:
    """The gateway query behind each section of a district's dashboard."""
    geo = {"level": "district", "codes": [district]}
    return {
        "pmt": {
            "cube": "households",
            "measures": ["households"],
            "dimensions": ["pmt_band"],
            "geography": geo,
        },
        "beneficiaries": {
            "cube": "persons",
            "measures": ["beneficiaries"],
            "dimensions": ["gender", "age_group"],
            "geography": geo,
        },
        "education": {
            "cube": "persons",
            "measures": ["literacy_rate", "enrolment_rate"],
            "dimensions": ["gender"],
            "geography": geo,
        },
        "disability": {
            "cube": "disability",
            "measures": ["persons_with_disability"],
            "dimensions": ["disability_type"],
            "geography": geo,
        },
        "cct": {
            "cube": "education_cct",
            "measures": ["enrolments"],
            "dimensions": ["quarter", "cct_level"],
            "geography": geo,
        },
        "dwelling": {
            "cube": "households",
            "measures": ["households"],
            "dimensions": ["dwelling_structure", "toilet"],
            "geography": geo,
        },
        "assets": {
            "cube": "households",
            "measures": [
                "households",
                "households_with_refrigerator",
                "households_with_television",
                "households_with_motorcycle",
                "households_with_car",
                "households_with_livestock",
            ],
            "geography": geo,
        },
        "tehsils": {
            "cube": "households",
            "measures": ["households", "share_at_or_below_cutoff", "share_beneficiary"],
            "geography": {"level": "tehsil", "within": district},
        },
    }


def comparison_queries(district: str) -> dict[str, dict]:
    """The headline figures for the district, its province and the nation (two cubes each)."""
    levels = [("district", [district]), ("province", [province_of(district)]), ("national", None)]
    out = {}
    for level, codes in levels:
        geo = {"level": level, **({"codes": codes} if codes else {})}
        out[f"{level}:households"] = {
            "cube": "households",
            "measures": ["households", "share_at_or_below_cutoff", "share_beneficiary"],
            "geography": geo,
        }
        out[f"{level}:persons"] = {
            "cube": "persons",
            "measures": ["persons", "beneficiaries", "literacy_rate", "disability_prevalence"],
            "geography": geo,
        }
    return out


def dashboard_queries(district: str) -> dict[str, dict]:
    """Every question of one district's dashboard: its headline comparisons and its sections."""
    return {**comparison_queries(district), **section_queries(district)}


def precompute_public_dashboards(snapshot_id: str | None = None, progress=None) -> dict:
    """Compute the public answers of every district's dashboard for ``snapshot_id`` (default: the
    serving one) into the shared answer cache. Returns counts and the time taken; no numbers."""
    from dashboard.oversight import actor_for, governed_gateway

    started = time.perf_counter()
    gateway = governed_gateway()
    public = actor_for(None)
    codes = list(geography.districts()["district_code"])
    totals = {"districts": len(codes), "answered": 0, "refused": 0, "cached": 0}
    with gateway.pinned(snapshot_id):
        for i, code in enumerate(codes, start=1):
            counts = gateway.precompute(public, list(dashboard_queries(code).values()))
            for k, v in counts.items():
                totals[k] += v
            if progress and i % 20 == 0:
                progress(f"  public dashboards: {i} of {len(codes)} districts")
        totals["snapshot_id"] = gateway.snapshot_id
    totals["seconds"] = round(time.perf_counter() - started, 1)
    return totals
