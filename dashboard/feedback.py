"""Partner feedback (seed 8.3): records partners post back, checked against the observation types
declared in ``feedback_types.yaml``, linked to the registered person by CNIC through the gateway, and
staged for MIS. Each record is accepted or rejected on its own with a reason; accepted ones are stored
together, so one bad record never loses the others."""

from __future__ import annotations

import datetime as dt
import functools
import re
from pathlib import Path

import yaml
from sqlalchemy import select

from dashboard import store
from dashboard.models import PartnerObservation

TYPES_PATH = Path(__file__).with_name("feedback_types.yaml")
MAX_RECORDS = 1000
FIELD_TYPES = ("string", "date", "number", "integer", "boolean")


class FeedbackTypesError(ValueError):
    """feedback_types.yaml is malformed; the message names the type and field."""


@functools.cache
def load_types(path: Path = TYPES_PATH) -> dict[str, dict]:
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    types = raw.get("types") if isinstance(raw, dict) else None
    if not isinstance(types, dict) or not types:
        raise FeedbackTypesError("feedback_types.yaml: a mapping of types")
    for name, spec in types.items():
        if not isinstance(spec, dict) or set(spec) - {"description", "fields"} or "fields" not in spec:
            raise FeedbackTypesError(f"type {name}: description and fields")
        for field, f in spec["fields"].items():
            allowed = {"type", "required", "min", "max", "max_length", "pattern"}
            if not isinstance(f, dict) or set(f) - allowed or f.get("type") not in FIELD_TYPES:
                raise FeedbackTypesError(
                    f"type {name} field {field}: type one of {list(FIELD_TYPES)}; keys {sorted(allowed)}"
                )
    return types


def check_record(spec: dict, observed) -> str | None:
    """Why a record's ``observed`` part does not fit its type (None when it does)."""
    if not isinstance(observed, dict):
        return "observed: an object of the type's fields"
    unknown = set(observed) - set(spec["fields"])
    if unknown:
        return f"observed: unknown field(s) {sorted(unknown)}"
    for name, f in spec["fields"].items():
        value = observed.get(name)
        if value is None:
            if f.get("required"):
                return f"observed.{name}: required"
            continue
        kind = f["type"]
        if kind == "string":
            if not isinstance(value, str) or len(value) > f.get("max_length", 500):
                return f"observed.{name}: text of at most {f.get('max_length', 500)} characters"
            if f.get("pattern") and not re.fullmatch(f["pattern"], value):
                return f"observed.{name}: does not match {f['pattern']}"
        elif kind == "date":
            try:
                dt.date.fromisoformat(value)
            except (TypeError, ValueError):
                return f"observed.{name}: a date, YYYY-MM-DD"
        elif kind in ("number", "integer"):
            ok = isinstance(value, int) if kind == "integer" else isinstance(value, (int, float))
            if isinstance(value, bool) or not ok:
                return f"observed.{name}: a{'n integer' if kind == 'integer' else ' number'}"
            if ("min" in f and value < f["min"]) or ("max" in f and value > f["max"]):
                return f"observed.{name}: between {f.get('min')} and {f.get('max')}"
        elif kind == "boolean" and not isinstance(value, bool):
            return f"observed.{name}: true or false"
    return None


def receive(gateway, client, body, engine=None) -> tuple[int, dict]:
    """(HTTP status, answer) for a posted batch: per-record status, accepted records staged."""
    types = load_types()
    if not isinstance(body, dict) or body.get("type") not in types:
        return 400, {"error": "invalid_request", "error_description": f"type: one of {sorted(types)}"}
    records = body.get("records")
    if not isinstance(records, list) or not 1 <= len(records) <= MAX_RECORDS:
        return 400, {
            "error": "invalid_request",
            "error_description": f"records: a list of 1 to {MAX_RECORDS}",
        }
    spec = types[body["type"]]
    items, pending = [], {}
    for i, record in enumerate(records):
        cnic = str(record.get("cnic", "")).replace("-", "") if isinstance(record, dict) else ""
        problem = None if re.fullmatch(r"\d{13}", cnic) else "cnic: 13 digits, with or without dashes"
        problem = problem or check_record(spec, record.get("observed"))
        items.append({"index": i, "status": "rejected" if problem else "pending", "reason": problem})
        if not problem:
            pending[i] = (cnic, record["observed"])
    located = gateway.locate_cnics(sorted({c for c, _ in pending.values()}))
    rows = []
    for i, (cnic, observed) in pending.items():
        if cnic not in located:
            items[i].update(status="rejected", reason="cnic: no registered person has this CNIC")
            continue
        member_id, household_id = located[cnic]
        items[i].update(status="accepted", reason=None)
        rows.append(
            PartnerObservation(
                client_id=client.client_id,
                organisation_id=client.organisation_id,
                type=body["type"],
                cnic=cnic,
                member_id=member_id,
                household_id=household_id,
                payload=observed,
                snapshot_id=gateway.snapshot_id,
                status="staged",
                received_at=dt.datetime.now(dt.UTC),
            )
        )
    if rows:
        with store.sessions(engine or store.engine()).begin() as s:
            s.add_all(rows)
    for item in items:
        if item["reason"] is None:
            del item["reason"]
    accepted = sum(1 for i in items if i["status"] == "accepted")
    return 200, {
        "type": body["type"],
        "accepted": accepted,
        "rejected": len(items) - accepted,
        "items": items,
    }


def staged(engine=None, limit: int = 200) -> list[PartnerObservation]:
    """The newest staged observations (MIS)."""
    with store.sessions(engine or store.engine())() as s:
        return list(
            s.scalars(select(PartnerObservation).order_by(PartnerObservation.id.desc()).limit(limit)).all()
        )
