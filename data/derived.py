"""SQL for columns the warehouse derives, shared by the synthetic generator and ingest of real extracts.

One definition of the PMT band, the Kafaalat rule and record keys, so a generated and an ingested
snapshot can never disagree about who is a beneficiary.
"""

from __future__ import annotations

import hashlib

from data.rules import load_rules


def pmt_band_sql(score: str = "pmt_score") -> str:
    """CASE expression mapping a PMT score to its band code (bands from rules.yaml)."""
    bands = load_rules()["pmt"]["bands"]
    return (
        "CASE "
        + " ".join(f"WHEN {score} <= {b['upper']} THEN '{b['code']}'" for b in bands[:-1])
        + f" ELSE '{bands[-1]['code']}' END"
    )


def kafaalat_eligible_sql(score: str = "pmt_score", disabled_members: str = "n_disabled") -> str:
    """Household meets the PMT rule: score ≤ 32, or ≤ 37 with a member with a disability."""
    cut = load_rules()["pmt"]["cutoffs"]
    return f"({score} <= {cut['kafaalat']} OR ({disabled_members} > 0 AND {score} <= {cut['kafaalat_disability']}))"


def exclusion_sql(has_car: str = "has_car", government_members: str = "n_government") -> str:
    """The profiling filter that applies, if any (rules.yaml kafaalat.profiling_filters)."""
    filters = load_rules()["kafaalat"]["profiling_filters"]
    parts = []
    if "car_owner" in filters:
        parts.append(f"WHEN {has_car} THEN 'car_owner'")
    if "government_employee" in filters:
        parts.append(f"WHEN {government_members} > 0 THEN 'government_employee'")
    return "CASE " + " ".join(parts) + " END" if parts else "NULL::VARCHAR"


def beneficiary_member_sql(member: str, household: str) -> str:
    """Kafaalat beneficiary: an ever-married woman (15+) in a beneficiary household."""
    return (
        f"({household}.is_beneficiary_household AND {member}.gender = 'female'"
        f" AND {member}.marital_status <> 'never_married' AND {member}.age >= 15)"
    )


def disabled_sql(member: str = "") -> str:
    """A person with disability: a lot of difficulty or cannot do at all (Washington Group cut-off)."""
    p = f"{member}." if member else ""
    return f"({p}disability_severity IN ('a_lot', 'cannot'))"


def record_key_sql(idexpr: str, secret: bytes, unit: str) -> str:
    """Record key 0–255: a keyed hash of the row id under a secret (never derived from the id alone).

    The same household keeps the same key in every snapshot built with the same secret, which is what
    cell-key perturbation needs (changing keys would let old and new tables be differenced).
    """
    k = int.from_bytes(hashlib.sha256(f"nser-record-key:{unit}:".encode() + secret).digest()[:8], "little")
    return f"((hash(xor(({idexpr})::UBIGINT, {k}::UBIGINT)) >> 40) % 256)::UTINYINT"
