"""The data-sharing API for partner organisations (seed 8.3), under /api/v1.

OAuth2 client credentials (RFC 6749 §4.4) at ``/api/v1/oauth/token``; every other endpoint takes the
bearer token, checks the scope it needs, applies the client's rate limit (429 with Retry-After), and asks
the governed gateway as the client, so protection, audit (client, IP, endpoint, parameters, rows) and
metering (API rates) are the same one door as the app's. Errors are JSON with a reason a developer can act
on; nothing else is said about the server.
"""

from __future__ import annotations

import functools
import time

from flask import Blueprint, Response, g, jsonify, request

from cubes.query import Actor
from dashboard.api_clients import TOKEN_TTL, ApiClients, Client, TokenRefused
from dashboard.api_contract import contract, docs_page, openapi
from dashboard.audit import Entry
from dashboard.oversight import governed_gateway
from dashboard.store import shared_cache

api = Blueprint("api", __name__, url_prefix="/api/v1")


def _rate_cache():
    """Request counters shared by every gunicorn worker (diskcache is process-safe)."""
    return shared_cache("api-rate")


def error(status: int, code: str, reason: str, headers: dict | None = None) -> Response:
    response = jsonify({"error": code, "error_description": reason})
    response.status_code = status
    for k, v in (headers or {}).items():
        response.headers[k] = v
    return response


def actor_for_client(client: Client, record_role: str | None = None) -> Actor:
    return Actor(
        client.tier,
        user=f"api:{client.client_id}",
        organisation=client.organisation,
        scope=client.scope_area,
        attributes={
            "ip": request.remote_addr,
            "organisation_id": client.organisation_id,
            "client_type": client.client_type,
            "gratis": client.gratis,
            "record_role": record_role if record_role is not None else client.record_role,
        },
    )


def requires(scope: str):
    """Bearer token with this scope, within the client's rate limit."""

    def wrap(view):
        @functools.wraps(view)
        def inner(*args, **kwargs):
            header = request.headers.get("Authorization", "")
            if not header.startswith("Bearer "):
                return error(
                    401,
                    "invalid_token",
                    "send Authorization: Bearer <token> from /api/v1/oauth/token",
                    {"WWW-Authenticate": 'Bearer realm="nser"'},
                )
            try:
                client = ApiClients().authenticate(header[7:].strip())
            except TokenRefused as exc:
                return error(
                    401, "invalid_token", str(exc), {"WWW-Authenticate": 'Bearer error="invalid_token"'}
                )
            if scope not in client.scopes:
                return error(
                    403,
                    "insufficient_scope",
                    f"this client may not use {scope}; its scopes: {list(client.scopes)}",
                )
            window = int(time.time() // 60)
            key = f"{client.client_id}:{window}"
            count = _rate_cache().incr(key, default=0)
            if count == 1:
                _rate_cache().touch(key, expire=120)
            if count > client.requests_per_minute:
                retry = 60 - int(time.time() % 60)
                return error(
                    429,
                    "rate_limited",
                    f"at most {client.requests_per_minute} requests a minute",
                    {"Retry-After": str(retry)},
                )
            g.api_client = client
            response = view(*args, **kwargs)
            status = response.status_code if isinstance(response, Response) else 200
            try:
                # one row per call (endpoint and outcome); the gateway adds its own row with the
                # parameters and the rows returned for every answer it gives
                ApiClients().log.append(
                    Entry(
                        kind="api_call",
                        outcome=str(status),
                        ip=request.remote_addr,
                        username=f"api:{client.client_id}",
                        organisation=client.organisation,
                        tier=client.tier,
                        action=f"{request.method} {request.path}",
                        parameters=request.query_string.decode()[:500] or None,
                    )
                )
            except Exception:
                return error(
                    503, "not_recorded", "the call could not be recorded in the access log; try again"
                )
            return response

        return inner

    return wrap


def refused(result) -> Response:
    if getattr(result, "code", None) == "quota_exceeded":
        return error(429, "quota_exceeded", result.reason, {"Retry-After": str(_seconds_to_midnight())})
    return error(422, "refused", result.reason or "refused")


def _seconds_to_midnight() -> int:
    now = time.gmtime()
    return max(1, 86400 - (now.tm_hour * 3600 + now.tm_min * 60 + now.tm_sec))


TOKEN_FORM = {
    "type": "object",
    "properties": {
        "grant_type": {"type": "string", "enum": ["client_credentials"]},
        "client_id": {"type": "string"},
        "client_secret": {"type": "string"},
    },
    "required": ["grant_type"],
}
TOKEN = {
    "type": "object",
    "properties": {
        "access_token": {"type": "string"},
        "token_type": {"type": "string", "enum": ["Bearer"]},
        "expires_in": {"type": "integer"},
    },
    "required": ["access_token", "token_type", "expires_in"],
}
CUBE_QUERY = {
    "type": "object",
    "properties": {
        "cube": {"type": "string"},
        "measures": {"type": "array", "items": {"type": "string"}},
        "dimensions": {"type": "array", "items": {"type": "string"}},
        "geography": {"type": "object"},
        "filters": {"type": "object"},
        "totals": {"type": "boolean"},
    },
    "required": ["cube", "measures"],
}
CUBE_RESULT = {
    "type": "object",
    "properties": {
        "ok": {"type": "boolean"},
        "tier": {"type": "string"},
        "cube": {"type": "string"},
        "snapshot_id": {"type": "string"},
        "as_of": {"type": "string"},
        "columns": {"type": "array", "items": {"type": "string"}},
        "rows": {"type": "array", "items": {"type": "object"}},
        "flags": {"type": "array"},
        "notes": {"type": "array", "items": {"type": "string"}},
    },
    "required": ["ok", "tier", "cube", "rows"],
}
PMT = {
    "type": "object",
    "properties": {
        "cnic": {"type": "string"},
        "pmt_score": {"type": "number"},
        "pmt_band": {"type": "string"},
        "snapshot_id": {"type": "string"},
    },
    "required": ["cnic", "pmt_score", "pmt_band", "snapshot_id"],
}
DCI_ENVELOPE = {
    "type": "object",
    "properties": {
        "signature": {"type": "string"},
        "header": {"type": "object"},
        "message": {"type": "object"},
    },
    "required": ["header"],
}


@api.post("/oauth/token")
@contract(
    "OAuth2 client credentials: a bearer token", None, {200: TOKEN, 400: None, 401: None}, form=TOKEN_FORM
)
def token():
    """Client credentials: form fields or HTTP Basic; a short-lived bearer token."""
    grant = request.form.get("grant_type")
    if grant != "client_credentials":
        return error(400, "unsupported_grant_type", "grant_type must be client_credentials")
    auth = request.authorization
    client_id = request.form.get("client_id") or (auth.username if auth else None)
    secret = request.form.get("client_secret") or (auth.password if auth else None)
    clients = ApiClients()
    try:
        access = clients.issue_token(client_id or "", secret or "")
    except TokenRefused:
        clients.log.append(
            Entry(kind="api_token", outcome="refused", ip=request.remote_addr, username=client_id)
        )
        return error(
            401,
            "invalid_client",
            "unknown client, wrong secret or revoked client",
            {"WWW-Authenticate": 'Basic realm="nser"'},
        )
    clients.log.append(Entry(kind="api_token", outcome="issued", ip=request.remote_addr, username=client_id))
    response = jsonify({"access_token": access, "token_type": "Bearer", "expires_in": TOKEN_TTL})
    response.headers["Cache-Control"] = "no-store"
    return response


@api.get("/cubes")
@requires("aggregates")
@contract("The cubes, their dimensions, measures and tier rules", "aggregates", {200: {"type": "object"}})
def cubes():
    from cubes.catalog import describe_cubes

    return jsonify(describe_cubes())


@api.post("/cubes/query")
@requires("aggregates")
@contract(
    "A cube query, protected for the client's tier",
    "aggregates",
    {200: CUBE_RESULT, 400: None, 422: None},
    request=CUBE_QUERY,
)
def cube_query():
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        return error(400, "invalid_request", "send the query as a JSON object (see GET /api/v1/cubes)")
    result = governed_gateway().run_query(actor_for_client(g.api_client), body)
    if not result.ok:
        return refused(result)
    return jsonify(result.to_json())


@api.get("/pmt")
@requires("pmt_lookup")
@contract(
    "PMT score and band for one CNIC",
    "pmt_lookup",
    {200: PMT, 400: None, 404: None},
    parameters=[{"name": "cnic", "in": "query", "required": True, "schema": {"type": "string"}}],
)
def pmt_lookup():
    """PMT score and band for one CNIC (the Utility Stores example): nothing else about the person."""
    cnic = request.args.get("cnic", "")
    result = governed_gateway().search_records(
        actor_for_client(g.api_client, record_role="basic"),
        {"type": "cnic", "cnic": cnic},
        service="api_rows",
    )
    if not result.ok:
        if result.code == "quota_exceeded":
            return refused(result)
        return error(400, "invalid_request", result.reason)
    if not result.households:
        return error(404, "not_found", result.reason or "no registered person has this CNIC")
    household = result.households[0]
    return jsonify(
        {
            "cnic": cnic.replace("-", ""),
            "pmt_score": household.get("pmt_score"),
            "pmt_band": household.get("pmt_band"),
            "snapshot_id": result.snapshot_id,
        }
    )


@api.post("/registry/sync/search")
@requires("registry_search")
@contract(
    "DCI registry search (synchronous)",
    "registry_search",
    {200: DCI_ENVELOPE, 400: DCI_ENVELOPE},
    request={**DCI_ENVELOPE, "required": ["header", "message"]},
)
def registry_sync_search():
    """DCI registry search (synchronous): CNIC by idtype-value, PMT range and area by predicate; each
    item masked by the client's record-access role, logged and metered on its own."""
    from dashboard.dci import sync_search

    status, envelope = sync_search(
        governed_gateway(), actor_for_client(g.api_client), request.get_json(silent=True)
    )
    response = jsonify(envelope)
    response.status_code = status
    return response


FEEDBACK = {
    "type": "object",
    "properties": {
        "type": {"type": "string"},
        "records": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {"cnic": {"type": "string"}, "observed": {"type": "object"}},
                "required": ["cnic", "observed"],
            },
        },
    },
    "required": ["type", "records"],
}
FEEDBACK_ANSWER = {
    "type": "object",
    "properties": {
        "type": {"type": "string"},
        "accepted": {"type": "integer"},
        "rejected": {"type": "integer"},
        "items": {"type": "array", "items": {"type": "object"}},
    },
    "required": ["type", "accepted", "rejected", "items"],
}


@api.post("/feedback")
@requires("feedback")
@contract(
    "Post back records the partner agreed to share, staged for MIS",
    "feedback",
    {200: FEEDBACK_ANSWER, 400: None},
    request=FEEDBACK,
)
def feedback():
    """Each record is checked against its observation type and linked by CNIC; accepted records are
    staged for MIS (never written into a snapshot); each rejected one says why."""
    from dashboard.feedback import receive

    client = g.api_client
    status, answer = receive(governed_gateway(), client, request.get_json(silent=True))
    ApiClients().log.append(
        Entry(
            kind="api_feedback",
            outcome="done" if status == 200 else "invalid",
            ip=request.remote_addr,
            username=f"api:{client.client_id}",
            organisation=client.organisation,
            tier=client.tier,
            action=str(answer.get("type", "")),
            rows=int(answer.get("accepted", 0)),
            reason=answer.get("error_description"),
        )
    )
    response = jsonify(answer)
    response.status_code = status
    return response


INTEGRATION_BATCH = {
    "type": "object",
    "properties": {
        "feed": {"type": "string", "description": "a feed of data/feeds.yaml, e.g. excise_vehicles"},
        "records": {"type": "array", "items": {"type": "object"}, "minItems": 1, "maxItems": 10000},
    },
    "required": ["feed", "records"],
}
INTEGRATION_REPORT = {
    "type": "object",
    "properties": {
        "batch_id": {"type": "integer"},
        "feed": {"type": "string"},
        "rows": {"type": "integer"},
        "matched": {"type": "integer"},
        "unmatched": {"type": "integer"},
        "ambiguous": {"type": "integer"},
        "duplicates": {"type": "integer"},
        "events": {"type": "integer"},
    },
    "required": ["batch_id", "feed", "rows", "matched", "unmatched", "ambiguous", "duplicates", "events"],
}
API_BATCH_MAX = 10_000


@api.post("/integration/batches")
@requires("integration")
@contract(
    "Deliver a batch of a registry's feed (seed 9), checked whole and matched on CNIC",
    "integration",
    {200: INTEGRATION_REPORT, 400: None, 409: None},
    request=INTEGRATION_BATCH,
)
def integration_batch():
    """One problem in any record rejects the whole batch (400, with the records and fields named);
    the same batch twice is refused (409). Matched records raise events for BISP's review; nothing
    changes the registry until MIS confirms and the next snapshot is built."""
    import hashlib
    import json as json_module

    from dashboard.integration import BatchRejected, Integration, IntegrationError

    client = g.api_client
    body = request.get_json(silent=True)
    records = body.get("records") if isinstance(body, dict) else None
    if not isinstance(body, dict) or not isinstance(body.get("feed"), str):
        return error(400, "invalid_request", "feed: the name of a feed of data/feeds.yaml")
    if not isinstance(records, list) or not 1 <= len(records) <= API_BATCH_MAX:
        return error(400, "invalid_request", f"records: a list of 1 to {API_BATCH_MAX:,} objects")
    if not all(isinstance(r, dict) for r in records):
        return error(400, "invalid_request", "records: each record is an object of the feed's fields")
    rows = [(i, r) for i, r in enumerate(records)]
    digest = hashlib.sha256(json_module.dumps(records, sort_keys=True, default=str).encode()).hexdigest()
    actor = f"api:{client.client_id}"
    try:
        report = Integration(governed_gateway()).load_records(body["feed"], rows, actor, actor, digest)
    except BatchRejected as exc:
        problems = [{"record": p.line, "field": p.column, "problem": p.message} for p in exc.problems]
        response = jsonify(
            {
                "error": "invalid_request",
                "error_description": f"{exc.total} problem(s); nothing was loaded",
                "problems": problems,
            }
        )
        response.status_code = 400
        return response
    except IntegrationError as exc:
        status = 409 if "same content" in str(exc) or "a moment ago" in str(exc) else 400
        return error(status, "conflict" if status == 409 else "invalid_request", str(exc))
    return jsonify(
        {
            "batch_id": report.batch_id,
            "feed": report.feed,
            "rows": report.rows,
            "matched": report.matched,
            "unmatched": report.unmatched,
            "ambiguous": report.ambiguous,
            "duplicates": report.duplicates,
            "events": report.events,
        }
    )


DCI_ACK = {
    "type": "object",
    "properties": {"message": {"type": "object", "required": ["ack_status", "timestamp", "correlation_id"]}},
    "required": ["message"],
}


@api.post("/registry/search")
@requires("registry_search")
@contract(
    "DCI registry search (asynchronous): acknowledged now, answered to the client's /registry/on-search",
    "registry_search",
    {202: DCI_ACK, 400: DCI_ACK},
    request={**DCI_ENVELOPE, "required": ["header", "message"]},
)
def registry_async_search():
    """The answer goes to the callback URL registered for the client, never to one named in the request."""
    from dashboard.dci import async_search

    client = g.api_client
    status, answer = async_search(
        governed_gateway(), actor_for_client(client), client, request.get_json(silent=True)
    )
    response = jsonify(answer)
    response.status_code = status
    return response


@api.post("/registry/sync/txn/status")
@requires("registry_search")
@contract(
    "Status of an asynchronous search by transaction_id",
    "registry_search",
    {200: DCI_ENVELOPE, 400: None, 404: None},
    request={"type": "object", "properties": {"message": {"type": "object"}}, "required": ["message"]},
)
def registry_txn_status():
    from dashboard.dci import txn_status

    status, answer = txn_status(g.api_client, request.get_json(silent=True))
    response = jsonify(answer)
    response.status_code = status
    return response


@api.get("/openapi.json")
@contract("This document", None, {200: {"type": "object"}})
def openapi_document():
    """The OpenAPI 3 contract, built from the routes and their declarations."""
    from flask import current_app

    return jsonify(openapi(current_app))


@api.get("/docs")
def docs():
    """A readable page of the same contract."""
    from flask import current_app

    return Response(docs_page(openapi(current_app)), mimetype="text/html")


@api.errorhandler(404)
def not_found(_):
    return error(404, "not_found", "no such API endpoint; see /api/v1/openapi.json")


@api.errorhandler(405)
def not_allowed(_):
    return error(405, "method_not_allowed", "this endpoint does not take that method")
