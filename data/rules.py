"""Programme rules (PMT cut-offs and bands, Kafaalat and Taleemi Wazaif stipends, CNIC digits) as data.

``rules.yaml`` is read by the generator, ingest and the cubes, so a cut-off lives in one place. It is
checked on load: bands must rise and end at the top of the scale, stipend dates must parse.
"""

from __future__ import annotations

import datetime as dt
from functools import cache
from pathlib import Path

import yaml

RULES_PATH = Path(__file__).with_name("rules.yaml")


class RulesError(ValueError):
    """rules.yaml is inconsistent; the message names the entry."""


def validate_rules(rules: dict) -> dict:
    pmt = rules.get("pmt") or {}
    lo, hi = pmt.get("scale", [None, None])
    bands = pmt.get("bands") or []
    if not bands:
        raise RulesError("rules pmt.bands: at least one band is required")
    uppers = [b["upper"] for b in bands]
    if uppers != sorted(uppers) or len(set(uppers)) != len(uppers):
        raise RulesError(f"rules pmt.bands: upper bounds must strictly rise, got {uppers}")
    if uppers[-1] != hi:
        raise RulesError(f"rules pmt.bands: the last band must end at the top of the scale ({hi})")
    for name, value in (pmt.get("cutoffs") or {}).items():
        if not lo <= value <= hi:
            raise RulesError(f"rules pmt.cutoffs.{name}: {value} is outside the scale {lo}–{hi}")
    for entry in rules.get("kafaalat", {}).get("quarterly_stipend", []):
        try:
            dt.date.fromisoformat(str(entry["from"]))
        except ValueError as exc:
            raise RulesError(f"rules kafaalat.quarterly_stipend: bad date {entry['from']!r}") from exc
    return rules


@cache
def load_rules(path: Path = RULES_PATH) -> dict:
    with open(path, encoding="utf-8") as fh:
        return validate_rules(yaml.safe_load(fh))
