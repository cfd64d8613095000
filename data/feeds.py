"""Integration feeds as data (``feeds.yaml``, BISP plan 9.2): each source's record fields and the rules
that turn a matched record into an event. Checked when loaded — an unknown key, type, code, effect or
reference names the feed and the field — so a typo fails at start-up, not on a live batch.

This module knows nothing of files, stores or the warehouse: it parses single values and evaluates rules
on a record and the registry's view of the matched person; the loader and the warehouse overlay build
on it.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from dataclasses import dataclass
from pathlib import Path

import yaml

FEEDS_PATH = Path(__file__).with_name("feeds.yaml")
FIELD_TYPES = ("string", "date", "integer", "number", "boolean")
FIELD_OPTIONS = {"type", "required", "codes", "pattern", "min", "max", "max_length", "geography"}
GEOGRAPHY = ("district", "tehsil", "district_or_tehsil")
CONDITIONS = {"equals", "in", "not_in", "at_least", "differs_from"}
APPLIES_TO = ("any", "beneficiary_household_member", "beneficiary_or_spouse")
MEMBER_COLUMNS = {"marital_status", "gender", "age", "relation", "employment_status", "employment_sector"}
# confidential columns only: a secret one (the income asked in the survey) must not reach an event's text
HOUSEHOLD_COLUMNS = {"district_code", "tehsil_code", "province_code", "has_car", "beneficiary_relations"}
TRUE, FALSE = {"true", "1", "yes", "t", "y"}, {"false", "0", "no", "f", "n"}


class FeedsError(ValueError):
    """feeds.yaml is inconsistent; the message names the feed, rule or field."""


@dataclass(frozen=True)
class Rule:
    name: str
    when: tuple[dict, ...]
    effect: str  # deceased | hold | flag
    code: str | None  # the hold reason or flag
    applies_to: str
    # registry values that, when found, mean the feed contradicts the survey (outlier evidence)
    contradicts: tuple[tuple[str, object], ...] = ()


@dataclass(frozen=True)
class Feed:
    name: str
    label: str
    source: str
    plan: str
    key: str  # cnic | area_code
    identity: tuple[str, ...]
    fields: dict[str, dict]
    rules: tuple[Rule, ...]
    from_feedback: str | None = None


@dataclass(frozen=True)
class Feeds:
    feeds: dict[str, Feed]
    hold_reasons: dict[str, str]
    flags: dict[str, str]
    appeal_days: int
    batch_max_rows: int

    def __getitem__(self, name: str) -> Feed:
        if name not in self.feeds:
            raise FeedsError(f"unknown feed {name!r}; feeds: {', '.join(sorted(self.feeds))}")
        return self.feeds[name]


def _fail(where: str, message: str) -> FeedsError:
    return FeedsError(f"feeds.yaml {where}: {message}")


@functools.cache
def load_feeds(path: Path = FEEDS_PATH) -> Feeds:
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(raw, dict) or set(raw) - {"version", "hold_reasons", "flags", "feeds", "review"}:
        raise _fail("top level", "version, hold_reasons, flags, feeds and review")
    holds, flags = raw.get("hold_reasons") or {}, raw.get("flags") or {}
    review = raw.get("review") or {}
    feeds = {}
    for name, spec in (raw.get("feeds") or {}).items():
        where = f"feed {name}"
        allowed = {"label", "source", "plan", "key", "identity", "fields", "rules", "from_feedback"}
        if not isinstance(spec, dict) or set(spec) - allowed:
            raise _fail(where, f"keys from {sorted(allowed)}")
        for required in ("label", "source", "plan", "key", "fields", "rules"):
            if required not in spec:
                raise _fail(where, f"{required} is required")
        fields = spec["fields"]
        if spec["key"] not in ("cnic", "area_code") or spec["key"] not in fields:
            raise _fail(where, "key: cnic or area_code, and a field of that name")
        for fname, f in fields.items():
            _check_field(f"{where} field {fname}", f)
        if not fields[spec["key"]].get("required"):
            raise _fail(where, f"the key field {spec['key']} must be required")
        identity = tuple(spec.get("identity") or ())
        if set(identity) - set(fields):
            raise _fail(where, f"identity names unknown fields {sorted(set(identity) - set(fields))}")
        rules = tuple(
            _rule(f"{where} rule {i}", r, fields, holds, flags) for i, r in enumerate(spec["rules"], 1)
        )
        if len({r.name for r in rules}) != len(rules):
            raise _fail(where, "rule names must differ")
        if spec["key"] == "area_code" and any(r.effect != "flag" for r in rules):
            raise _fail(where, "an area feed can only flag (households are not matched one by one)")
        feeds[name] = Feed(
            name,
            spec["label"],
            spec["source"],
            str(spec["plan"]),
            spec["key"],
            identity,
            fields,
            rules,
            spec.get("from_feedback"),
        )
    if not feeds:
        raise _fail("feeds", "at least one feed")
    appeal_days = review.get("appeal_days")
    max_rows = review.get("batch_max_rows")
    if not isinstance(appeal_days, int) or appeal_days < 1 or not isinstance(max_rows, int) or max_rows < 1:
        raise _fail("review", "appeal_days and batch_max_rows, whole numbers above 0")
    return Feeds(feeds, holds, flags, appeal_days, max_rows)


def _check_field(where: str, f) -> None:
    if not isinstance(f, dict) or set(f) - FIELD_OPTIONS or f.get("type") not in FIELD_TYPES:
        raise _fail(where, f"type one of {list(FIELD_TYPES)}; options {sorted(FIELD_OPTIONS)}")
    if "codes" in f and (not isinstance(f["codes"], list) or not f["codes"]):
        raise _fail(where, "codes: a list")
    if "geography" in f and f["geography"] not in GEOGRAPHY:
        raise _fail(where, f"geography: one of {list(GEOGRAPHY)}")
    if "pattern" in f:
        try:
            re.compile(f["pattern"])
        except re.error as exc:
            raise _fail(where, f"pattern: {exc}") from None


def _rule(where: str, r, fields: dict, holds: dict, flags: dict) -> Rule:
    if (
        not isinstance(r, dict)
        or set(r) - {"name", "when", "effect", "applies_to", "contradicts"}
        or not r.get("name")
    ):
        raise _fail(where, "name, when, effect, applies_to and optionally contradicts")
    contradicts = r.get("contradicts") or {}
    for key in contradicts:
        side, _, column = str(key).partition(".")
        known = MEMBER_COLUMNS if side == "member" else HOUSEHOLD_COLUMNS if side == "household" else set()
        if column not in known:
            raise _fail(where, "contradicts: member.<column> or household.<column> the matcher reads")
    when = r.get("when") or []
    for c in when:
        ops = set(c) - {"field"}
        if c.get("field") not in fields or len(ops) != 1 or ops - CONDITIONS:
            raise _fail(where, f"each condition: a field of the feed and one of {sorted(CONDITIONS)}")
        if "differs_from" in c:
            side, _, column = str(c["differs_from"]).partition(".")
            known = (
                MEMBER_COLUMNS if side == "member" else HOUSEHOLD_COLUMNS if side == "household" else set()
            )
            if column not in known:
                raise _fail(where, "differs_from: member.<column> or household.<column> the matcher reads")
        for op in ("in", "not_in"):
            if op in c and not isinstance(c[op], list):
                raise _fail(where, f"{op}: a list of values")
        if "at_least" in c and (
            fields[c["field"]]["type"] not in ("integer", "number") or isinstance(c["at_least"], bool)
        ):
            raise _fail(where, f"at_least: only for a number field, and {c['field']} is not one")
        codes = fields[c["field"]].get("codes")
        for op in ("equals", "in", "not_in"):
            values = [c[op]] if op == "equals" and op in c else c.get(op) or []
            if codes and set(values) - set(codes):
                raise _fail(where, f"{op}: {sorted(set(values) - set(codes))} are not codes of {c['field']}")
    effect = r.get("effect")
    if effect == "deceased":
        kind, code = "deceased", None
    elif isinstance(effect, dict) and set(effect) in ({"hold"}, {"flag"}):
        kind = next(iter(effect))
        code = effect[kind]
        if code not in (holds if kind == "hold" else flags):
            raise _fail(
                where,
                f"{kind} {code!r} is not declared under {'hold_reasons' if kind == 'hold' else 'flags'}",
            )
    else:
        raise _fail(where, "effect: deceased, {hold: REASON} or {flag: FLAG}")
    if r.get("applies_to") not in APPLIES_TO:
        raise _fail(where, f"applies_to: one of {list(APPLIES_TO)}")
    return Rule(r["name"], tuple(when), kind, code, r["applies_to"], tuple(contradicts.items()))


@functools.cache
def _geography_codes(level: str) -> frozenset[str]:
    from data import geography

    districts = set(geography.districts().district_code)
    tehsils = set(geography.tehsils().tehsil_code)
    return frozenset(
        {"district": districts, "tehsil": tehsils, "district_or_tehsil": districts | tehsils}[level]
    )


def parse_value(spec: dict, raw):
    """(value, problem): a CSV string or a Parquet value checked against its field's declaration."""
    if raw is None or (isinstance(raw, float) and raw != raw) or (isinstance(raw, str) and raw.strip() == ""):
        return None, ("required" if spec.get("required") else None)
    kind = spec["type"]
    text = raw.strip() if isinstance(raw, str) else raw
    try:
        if kind == "string":
            value = str(text)
            if len(value) > spec.get("max_length", 500):
                return None, f"at most {spec.get('max_length', 500)} characters"
            if spec.get("pattern") and not re.fullmatch(spec["pattern"], value, re.ASCII):
                return None, f"does not match {spec['pattern']}"
            if spec.get("codes") and value not in spec["codes"]:
                return None, f"{value!r} is not one of {spec['codes']}"
            if spec.get("geography") and value not in _geography_codes(spec["geography"]):
                return None, f"{value!r} is not a {spec['geography'].replace('_', ' ')} code"
        elif kind == "date":
            if not isinstance(text, dt.date) and not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", str(text)):
                return None, "a date, YYYY-MM-DD"
            value = text if isinstance(text, dt.date) else dt.date.fromisoformat(str(text))
            if isinstance(value, dt.datetime):
                value = value.date()
        elif kind == "integer":
            if isinstance(text, bool) or (isinstance(text, float) and not text.is_integer()):
                return None, "a whole number"
            if isinstance(text, str) and not re.fullmatch(r"[+-]?[0-9]+", text):
                return None, "a whole number"
            value = int(text)
        elif kind == "number":
            if isinstance(text, bool):
                return None, "a number"
            if isinstance(text, str) and not re.fullmatch(
                r"[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?", text
            ):
                return None, "a number"
            value = float(text)
            if value != value or value in (float("inf"), float("-inf")):
                return None, "a number"
        else:  # boolean
            if isinstance(text, bool):
                value = text
            elif str(text).lower() in TRUE:
                value = True
            elif str(text).lower() in FALSE:
                value = False
            else:
                return None, "true or false"
    except (TypeError, ValueError):
        return None, {"date": "a date, YYYY-MM-DD", "integer": "a whole number", "number": "a number"}[kind]
    if kind in ("integer", "number") and (
        ("min" in spec and value < spec["min"]) or ("max" in spec and value > spec["max"])
    ):
        return None, f"between {spec.get('min')} and {spec.get('max')}"
    return value, None


def holds(rule: Rule, record: dict, registry: dict) -> bool:
    """Whether every condition of the rule holds for a record and the registry's view of the match
    (``registry`` has ``member.<column>`` and ``household.<column>`` keys)."""
    for c in rule.when:
        value = record.get(c["field"])
        if "equals" in c and value != c["equals"]:
            return False
        if "in" in c and value not in c["in"]:
            return False
        if "not_in" in c and (value is None or value in c["not_in"]):
            return False
        if "at_least" in c and (value is None or value < c["at_least"]):
            return False
        if "differs_from" in c and (value is None or value == registry.get(c["differs_from"])):
            return False
    return True


def counts_for_household(rule: Rule, registry: dict) -> bool:
    """Whether the matched member's record counts for the household under the rule's applies_to."""
    if rule.applies_to == "any":
        return True
    beneficiary_household = bool(registry.get("household.is_beneficiary_household"))
    if rule.applies_to == "beneficiary_household_member":
        return beneficiary_household
    if registry.get("member.is_beneficiary"):
        return True
    # the roster says how each member relates to the head, not who is married to whom: the head is the
    # spouse of a beneficiary who is the head's wife, and the head's spouse the spouse of a female head
    # beneficiary; a daughter-in-law's husband (a son) cannot be told from his brothers
    beneficiaries = set(filter(None, str(registry.get("household.beneficiary_relations") or "").split(",")))
    relation = registry.get("member.relation")
    return (relation == "head" and "spouse" in beneficiaries) or (
        relation == "spouse" and "head" in beneficiaries
    )


def contradiction(rule: Rule, registry: dict) -> str | None:
    """How the record contradicts the survey under the rule's ``contradicts`` (None when it does not)."""

    def shown(value) -> str:
        return {True: "yes", False: "no"}.get(value, str(value)) if isinstance(value, bool) else str(value)

    found = [
        f"{key.split('.', 1)[1].replace('_', ' ')}: {shown(value)}"
        for key, value in rule.contradicts
        if registry.get(key) == value
    ]
    return ("the survey recorded " + ", ".join(found)) if found else None


def normal_cnic(value: str) -> str:
    return value.replace("-", "")
