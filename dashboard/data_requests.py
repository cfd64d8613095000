"""Data requests (plan 7.2, 7.3, 8.5): which forum must authorize a request, and by when it is due.

Routing and timelines are data (``requests.yaml``); this module only reads and applies them. The form,
the queues and provisioning build on these functions.
"""

from __future__ import annotations

import datetime as dt
import functools
from dataclasses import dataclass
from pathlib import Path

import yaml

from dashboard import governance

RULES_PATH = Path(__file__).with_name("requests.yaml")
CONDITIONS = {"data", "sector", "permissible", "category_approved", "report_published"}


class RequestRulesError(ValueError):
    """requests.yaml is inconsistent; the message names the entry."""


@functools.cache
def load_rules(path: Path = RULES_PATH) -> dict:
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    forums, types = raw["forums"], raw["data_types"]
    for i, rule in enumerate(raw["routing"], 1):
        when = rule.get("when") or {}
        if set(when) - CONDITIONS:
            raise RequestRulesError(f"routing rule {i}: unknown conditions {sorted(set(when) - CONDITIONS)}")
        if "data" in when and when["data"] not in types:
            raise RequestRulesError(f"routing rule {i}: unknown data type {when['data']!r}")
        if rule.get("forum") not in forums or not rule.get("why"):
            raise RequestRulesError(f"routing rule {i}: a forum from {sorted(forums)} and a why")
    unknown = set(raw.get("not_permissible") or []) - set(governance.load()["organisation_types"])
    if unknown:
        raise RequestRulesError(f"not_permissible: unknown organisation types {sorted(unknown)}")
    raw["not_permissible"] = set(raw.get("not_permissible") or [])
    for data, service in raw["service_of"].items():
        if data not in types or service not in raw["services"]:
            raise RequestRulesError(f"service_of {data}: unknown data type or service")
    if set(types) - set(raw["service_of"]):
        raise RequestRulesError(
            f"service_of: give a service for {sorted(set(types) - set(raw['service_of']))}"
        )
    raw["holidays"] = {dt.date.fromisoformat(str(d)): name for d, name in raw["holidays"].items()}
    return raw


@dataclass(frozen=True)
class Route:
    forum: str
    forum_label: str
    why: str


def route(
    data: str,
    organisation_type: str,
    category_approved: bool = False,
    report_published: bool = False,
) -> Route:
    """The forum that authorizes a request for ``data`` from an organisation of ``organisation_type``
    (a 7.2 type, or anything else for "any other organisation")."""
    rules = load_rules()
    if data not in rules["data_types"]:
        raise ValueError(f"data type: one of {sorted(rules['data_types'])}")
    org_types = governance.load()["organisation_types"]
    permissible = organisation_type in org_types and organisation_type not in rules["not_permissible"]
    sector = (
        "public" if permissible and org_types[organisation_type]["client_type"] == "government" else "private"
    )
    facts = {
        "data": data,
        "sector": sector,
        "permissible": permissible,
        "category_approved": category_approved,
        "report_published": report_published,
    }
    for rule in rules["routing"]:
        if all(facts[k] == v for k, v in rule["when"].items()):
            return Route(rule["forum"], rules["forums"][rule["forum"]], rule["why"])
    raise RequestRulesError(f"no routing rule matches {facts}")


def is_working_day(day: dt.date) -> bool:
    return day.weekday() < 5 and day not in load_rules()["holidays"]


def add_working_days(start: dt.date, days: int) -> dt.date:
    """The date ``days`` working days after ``start`` (a request received on a holiday starts counting on
    the next working day)."""
    day, left = start, days
    while left > 0:
        day += dt.timedelta(days=1)
        if is_working_day(day):
            left -= 1
    return day


def working_days_between(start: dt.date, end: dt.date) -> int:
    """Working days after ``start`` up to and including ``end``."""
    n, day = 0, start
    while day < end:
        day += dt.timedelta(days=1)
        n += is_working_day(day)
    return n


def due_date(data: str, received: dt.date) -> tuple[str, dt.date]:
    """(service label, due date) for a request received on ``received``."""
    rules = load_rules()
    service = rules["services"][rules["service_of"][data]]
    return service["label"], add_working_days(received, service["working_days"])


def is_overdue(data: str, received: dt.date, today: dt.date) -> bool:
    return today > due_date(data, received)[1]
