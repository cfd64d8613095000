"""DCI social-registry search (registry core API v1.0.0) on top of the gateway's record search.

The envelope is DCI's (``signature``, ``header``, ``message``); each item of ``search_request`` becomes one
gateway record search for the client's record-access role, so the same policy masks it and each item is
logged and metered on its own. Queries:

* ``idtype-value``: ``{"type": "CNIC", "value": "35202-1234567-1"}`` (also ``UIN``, as DCI names a national id)
* ``predicate``: a list of ``{"expression1": {"attribute_name", "operator", "attribute_value"}, "condition":
  "and", "expression2": …}`` over ``area`` (eq: a district, tehsil or union council code), ``pmt_score``
  (ge/gt/le/lt), and the record search's filter fields (eq or in).

Each item answers with its own status (``succ`` or ``rjct``) and DCI reason code; a bad item never
spoils the others.
"""

from __future__ import annotations

import datetime as dt
import secrets

from cubes.query import Actor

ID_TYPES = ("CNIC", "UIN")
RECORD_TYPE = "nser:Household"
REGISTRY_TYPE = "ns:bisp:RegistryType:NSER"
VERSION = "1.0.0"


class EnvelopeError(ValueError):
    """The envelope itself is unusable: (reason code, message) for the header."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


def now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds")


def check_envelope(body) -> tuple[dict, dict]:
    """(header, message) of a sync search envelope, or EnvelopeError naming what is wrong."""
    if not isinstance(body, dict):
        raise EnvelopeError(
            "rjct.action.invalid", "the body must be a DCI envelope: signature, header, message"
        )
    header, message = body.get("header"), body.get("message")
    if not isinstance(header, dict):
        raise EnvelopeError("rjct.action.invalid", "header: required object")
    for field in ("message_id", "message_ts", "action", "sender_id"):
        if not isinstance(header.get(field), str) or not header[field]:
            code = "rjct.message_ts.invalid" if field == "message_ts" else "rjct.action.invalid"
            raise EnvelopeError(code, f"header.{field}: required text")
    if header["action"] != "search":
        raise EnvelopeError("rjct.action.not_supported", "header.action: only 'search' is served here")
    try:
        dt.datetime.fromisoformat(header["message_ts"].replace("Z", "+00:00"))
    except ValueError:
        raise EnvelopeError("rjct.message_ts.invalid", "header.message_ts: an ISO 8601 date-time") from None
    if header.get("version", VERSION) != VERSION:
        raise EnvelopeError("rjct.version.invalid", f"header.version: {VERSION}")
    if not isinstance(message, dict) or not isinstance(message.get("search_request"), list):
        raise EnvelopeError("rjct.action.invalid", "message: transaction_id and a search_request list")
    if not isinstance(message.get("transaction_id"), str) or not message["transaction_id"]:
        raise EnvelopeError("rjct.action.invalid", "message.transaction_id: required text")
    items = message["search_request"]
    if not 1 <= len(items) <= 100:
        raise EnvelopeError("rjct.total_count.limit_exceeded", "message.search_request: 1 to 100 items")
    total = header.get("total_count")
    if total is not None and (not isinstance(total, int) or isinstance(total, bool) or total != len(items)):
        raise EnvelopeError(
            "rjct.total_count.invalid", "header.total_count: the number of search_request items"
        )
    return header, message


class ItemError(ValueError):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


def to_record_search(criteria) -> dict:
    """The gateway record search for one item's search_criteria (ItemError when it cannot be one)."""
    if not isinstance(criteria, dict):
        raise ItemError("rjct.search_criteria.invalid", "search_criteria: required object")
    kind, query = criteria.get("query_type"), criteria.get("query")
    page = 1
    pagination = criteria.get("pagination")
    if pagination is not None:
        if not isinstance(pagination, dict) or not isinstance(pagination.get("page_number", 1), int):
            raise ItemError("rjct.pagination.invalid", "pagination.page_number: a whole number from 1")
        page = pagination.get("page_number", 1)
        if page < 1:
            raise ItemError("rjct.pagination.invalid", "pagination.page_number: a whole number from 1")
    if kind == "idtype-value":
        if not isinstance(query, dict) or query.get("type") not in ID_TYPES:
            raise ItemError("rjct.search_criteria.invalid", f"query.type: one of {list(ID_TYPES)} (the CNIC)")
        return {"type": "cnic", "cnic": str(query.get("value", "")), "page": page}
    if kind == "predicate":
        if not isinstance(query, list) or not query:
            raise ItemError("rjct.search_criteria.invalid", "query: a list of expression predicates")
        predicates = []
        for item in query:
            if not isinstance(item, dict):
                raise ItemError("rjct.search_criteria.invalid", "query: each item has expression1")
            if item.get("condition", "and") != "and":
                raise ItemError("rjct.filter.invalid", "condition: only 'and' is supported")
            for key in ("expression1", "expression2"):
                if item.get(key) is not None:
                    predicates.append(item[key])
        area, pmt_min, pmt_max, filters = None, None, None, {}
        for p in predicates:
            if not isinstance(p, dict) or not {"attribute_name", "operator", "attribute_value"} <= set(p):
                raise ItemError(
                    "rjct.filter.invalid", "each predicate: attribute_name, operator, attribute_value"
                )
            name, op, value = p["attribute_name"], p["operator"], p["attribute_value"]
            if name == "area" and op == "eq":
                area = value
            elif name == "pmt_score" and op in ("ge", "gt", "le", "lt") and isinstance(value, (int, float)):
                if op in ("ge", "gt"):
                    pmt_min = float(value)
                else:
                    pmt_max = float(value)
            elif op in ("eq", "in") and name not in ("area", "pmt_score"):
                filters[name] = value if isinstance(value, list) else [value]
            else:
                raise ItemError("rjct.filter.invalid", f"{name} {op}: not a supported predicate")
        if area is None:
            raise ItemError("rjct.filter.invalid", "give an area: attribute_name 'area', operator 'eq'")
        if pmt_min is not None or pmt_max is not None:
            return {
                "type": "pmt_range",
                "area": area,
                "pmt_min": 0.0 if pmt_min is None else pmt_min,
                "pmt_max": 100.0 if pmt_max is None else pmt_max,
                "filters": filters,
                "page": page,
            }
        return {"type": "address", "area": area, "filters": filters, "page": page}
    raise ItemError("rjct.search_criteria.invalid", "query_type: idtype-value or predicate")


def answer_item(gateway, actor: Actor, item) -> dict:
    """One search_response item: status, reason code, the records the role allows, pagination."""
    reference = item.get("reference_id") if isinstance(item, dict) else None
    out = {
        "reference_id": reference if isinstance(reference, str) and reference else "missing",
        "timestamp": now(),
    }
    try:
        if not isinstance(reference, str) or not reference:
            raise ItemError("rjct.reference_id.invalid", "reference_id: required text")
        search = to_record_search(item.get("search_criteria"))
    except ItemError as exc:
        return {**out, "status": "rjct", "status_reason_code": exc.code, "status_reason_message": str(exc)}
    result = gateway.search_records(actor, search, service="api_rows")
    if not result.ok:
        reason = result.reason or ""
        code = (
            "rjct.pagination.invalid"
            if reason.startswith("page")
            else "rjct.filter.invalid"
            if reason.startswith("filters")
            else "rjct.search_criteria.invalid"
        )
        return {
            **out,
            "status": "rjct",
            "status_reason_code": code,
            "status_reason_message": result.reason or "refused",
        }
    response = {
        **out,
        "status": "succ",
        "data": {
            "version": VERSION,
            "reg_type": REGISTRY_TYPE,
            "reg_record_type": RECORD_TYPE,
            "reg_records": {
                "households": result.households,
                "members": result.members,
                "payments": result.payments,
                "sampled": result.sampled,
            },
        },
        "pagination": {
            "page_size": len(result.households),
            "page_number": result.page,
            "total_count": result.total,
        },
    }
    if result.truncated:
        response["status_reason_code"] = "rjct.search.too_many_records_found"
        response["status_reason_message"] = (
            "more records match than this client may receive; narrow the search"
        )
    if result.reason and not result.households:
        response["status_reason_message"] = result.reason
    return response


def sync_search(gateway, actor: Actor, body, receiver: str = "nser.bisp.gov.pk") -> tuple[int, dict]:
    """(HTTP status, DCI response envelope) for a synchronous search."""
    try:
        header, message = check_envelope(body)
    except EnvelopeError as exc:
        sender = (
            body.get("header", {}).get("sender_id")
            if isinstance(body, dict) and isinstance(body.get("header"), dict)
            else None
        )
        return 400, {
            "signature": "",
            "header": {
                "version": VERSION,
                "message_id": secrets.token_hex(8),
                "message_ts": now(),
                "action": "on-search",
                "status": "rjct",
                "status_reason_code": exc.code,
                "status_reason_message": str(exc),
                "sender_id": receiver,
                **({"receiver_id": sender} if isinstance(sender, str) else {}),
            },
        }
    items = [answer_item(gateway, actor, item) for item in message["search_request"]]
    done = sum(1 for i in items if i["status"] == "succ")
    return 200, {
        "signature": "",
        "header": {
            "version": VERSION,
            "message_id": secrets.token_hex(8),
            "message_ts": now(),
            "action": "on-search",
            "status": "succ" if done == len(items) else ("rjct" if done == 0 else "succ"),
            "total_count": len(items),
            "completed_count": done,
            "sender_id": receiver,
            "receiver_id": header["sender_id"],
        },
        "message": {
            "transaction_id": message["transaction_id"],
            "correlation_id": secrets.token_hex(8),
            "search_response": items,
        },
    }


# -- asynchronous search: acknowledge now, answer the partner's /registry/on-search later ----------------

_ASYNC = None


def _jobs():
    global _ASYNC
    if _ASYNC is None:
        from concurrent.futures import ThreadPoolExecutor

        _ASYNC = ThreadPoolExecutor(max_workers=4, thread_name_prefix="dci-async")
    return _ASYNC


def transactions():
    """Transaction states, shared by every gunicorn worker (diskcache), kept a week."""
    from dashboard.store import shared_cache

    return shared_cache("api-transactions")


def ack(status: str, correlation_id: str, error: tuple[str, str] | None = None) -> dict:
    message = {"ack_status": status, "timestamp": now(), "correlation_id": correlation_id}
    if error:
        message["error"] = {"code": error[0], "message": error[1]}
    return {"message": message}


def deliver(url: str, envelope: dict, timeout: float = 10.0, attempts: int = 2) -> str:
    """POST the answer to the partner's callback; 'delivered' or why not."""
    import json
    import urllib.error
    import urllib.request

    data = json.dumps(envelope).encode()
    last = "not sent"
    for _ in range(attempts):
        try:
            req = urllib.request.Request(
                url, data=data, headers={"Content-Type": "application/json"}, method="POST"
            )
            with urllib.request.urlopen(req, timeout=timeout) as response:  # noqa: S310 (the client's registered address)
                if 200 <= response.status < 300:
                    return "delivered"
                last = f"callback answered {response.status}"
        except (urllib.error.URLError, OSError) as exc:
            last = f"callback failed: {exc.__class__.__name__}"
    return last


def async_search(gateway, actor: Actor, client, body) -> tuple[int, dict]:
    """Acknowledge a search; run it in the background and POST the on-search envelope to the client's
    registered callback (never to an address the request names: no server-side request forgery)."""
    correlation = secrets.token_hex(8)
    if not client.callback_url:
        return 400, ack(
            "ERR", correlation, ("rjct.action.not_supported", "this client has no registered callback URL")
        )
    try:
        header, message = check_envelope(body)
    except EnvelopeError as exc:
        return 400, ack("ERR", correlation, (exc.code, str(exc)))
    key = (client.client_id, message["transaction_id"])
    txns = transactions()
    txns.set(key, {"status": "pdng", "correlation_id": correlation, "callback": "pending"}, expire=7 * 86400)

    def run() -> None:
        status, envelope = sync_search(gateway, actor, body)
        envelope.setdefault("message", {})["correlation_id"] = correlation
        outcome = deliver(f"{client.callback_url}/registry/on-search", envelope)
        done = envelope["header"].get("completed_count", 0)
        txns.set(
            key,
            {
                "status": "succ" if status == 200 and done else "rjct",
                "correlation_id": correlation,
                "callback": outcome,
            },
            expire=7 * 86400,
        )

    _jobs().submit(run)
    return 202, ack("ACK", correlation)


def txn_status(client, body) -> tuple[int, dict]:
    """Status of an earlier asynchronous search, by transaction_id (synchronous answer)."""
    request = (body or {}).get("message", {}).get("txnstatus_request") if isinstance(body, dict) else None
    if not isinstance(request, dict) or request.get("attribute_type") != "transaction_id":
        return 400, {
            "error": "invalid_request",
            "error_description": "message.txnstatus_request with attribute_type transaction_id",
        }
    state = transactions().get((client.client_id, str(request.get("attribute_value"))))
    if state is None:
        return 404, {"error": "not_found", "error_description": "no such transaction for this client"}
    return 200, {
        "header": {
            "version": VERSION,
            "message_id": secrets.token_hex(8),
            "message_ts": now(),
            "action": "txn-on-status",
            "status": "succ",
            "sender_id": "nser.bisp.gov.pk",
        },
        "message": {
            "transaction_id": str(request["attribute_value"]),
            "correlation_id": state["correlation_id"],
            "txnstatus_response": {
                "txn_type": "search",
                "status": state["status"],
                "callback": state["callback"],
            },
        },
    }
