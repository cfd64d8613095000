"""Governance data (organisation types, roles, duties, services, rates, quotas) read from YAML and checked."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import yaml

GOVERNANCE_PATH = Path(__file__).with_name("governance.yaml")
_TOP = {
    "version",
    "organisation_types",
    "tiers",
    "record_roles",
    "approval_duties",
    "api_scopes",
    "services",
    "rates",
    "gratis",
    "quotas",
    "security",
}


class GovernanceError(ValueError):
    """governance.yaml is inconsistent; the message names the entry."""


def validate(raw: dict) -> dict:
    unknown = set(raw) - _TOP
    if unknown:
        raise GovernanceError(f"governance.yaml: unknown keys {sorted(unknown)}")
    for name, t in raw["organisation_types"].items():
        if t.get("client_type") not in ("government", "private"):
            raise GovernanceError(
                f"governance.yaml organisation type {name}: client_type must be government or private"
            )
        if t.get("gratis") and t["gratis"] not in raw["gratis"]:
            raise GovernanceError(
                f"governance.yaml organisation type {name}: unknown gratis reason {t['gratis']!r}"
            )
    for service, by_client in raw["rates"].items():
        if service not in raw["services"]:
            raise GovernanceError(f"governance.yaml rates: unknown service {service!r}")
        for client, rate in by_client.items():
            if client not in ("government", "private") or not isinstance(rate, (int, float)) or rate < 0:
                raise GovernanceError(
                    f"governance.yaml rates {service}.{client}: must be a rate ≥ 0 for government or private"
                )
    for service in raw["services"]:
        if service not in raw["rates"]:
            raise GovernanceError(f"governance.yaml: service {service!r} has no rates")
    for who, limits in raw["quotas"].items():
        if set(limits) != {"queries", "cells", "rows"}:
            raise GovernanceError(f"governance.yaml quotas {who}: give queries, cells and rows")
    return raw


@cache
def load() -> dict:
    with open(GOVERNANCE_PATH, encoding="utf-8") as fh:
        return validate(yaml.safe_load(fh))
