"""The partner API: client credentials, scopes, expiry, revocation, rate limits, quotas, and answers that
come from the gateway (protected, audited, metered)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from dashboard import api_clients
from dashboard.api_clients import ApiClientError, ApiClients
from dashboard.metering import Metering
from dashboard.models import AuditEntry, LedgerEntry


def test_client_credentials_issue_a_bearer_token_and_bad_ones_are_refused(partner):
    client, new_client, token, call = partner
    cid, secret = new_client(["aggregates"])
    assert client.post("/api/v1/oauth/token", data={"grant_type": "password"}).status_code == 400
    wrong = client.post(
        "/api/v1/oauth/token",
        data={"grant_type": "client_credentials", "client_id": cid, "client_secret": "nope"},
    )
    assert wrong.status_code == 401 and wrong.get_json()["error"] == "invalid_client"
    basic = client.post("/api/v1/oauth/token", data={"grant_type": "client_credentials"}, auth=(cid, secret))
    assert basic.status_code == 200 and basic.get_json()["token_type"] == "Bearer"
    assert basic.headers["Cache-Control"] == "no-store"
    listing = call("GET", "/api/v1/cubes", token(cid, secret))
    assert listing.status_code == 200 and "households" in {c["name"] for c in listing.get_json()["cubes"]}
    assert call("GET", "/api/v1/cubes", "forged.token.value").status_code == 401
    assert client.get("/api/v1/cubes").status_code == 401
    with pytest.raises(ApiClientError, match="scopes"):
        new_client(["everything"])
    stored = ApiClients().list()[0][0]
    assert secret not in stored.secret_hash and stored.secret_hash.startswith("$argon2id$")


def test_wrong_scope_expired_token_and_revoked_client(partner, monkeypatch):
    _, new_client, token, call = partner
    cid, secret = new_client(["pmt_lookup"])
    tok = token(cid, secret)
    denied = call("GET", "/api/v1/cubes", tok)
    assert denied.status_code == 403 and denied.get_json()["error"] == "insufficient_scope"
    monkeypatch.setattr(api_clients, "TOKEN_TTL", -1)
    expired = call("GET", "/api/v1/pmt?cnic=1234512345671", tok)
    assert expired.status_code == 401 and "expired" in expired.get_json()["error_description"]
    monkeypatch.setattr(api_clients, "TOKEN_TTL", 900)
    ApiClients().revoke(cid)
    revoked = call("GET", "/api/v1/pmt?cnic=1234512345671", tok)  # an unexpired token stops at once
    assert revoked.status_code == 401 and "revoked" in revoked.get_json()["error_description"]


def test_pmt_lookup_returns_the_score_and_nothing_else_and_is_logged_and_metered(partner, person):
    _, new_client, token, call = partner
    cid, secret = new_client(["pmt_lookup"])
    tok = token(cid, secret)
    found = call("GET", f"/api/v1/pmt?cnic={person['cnic']}", tok)
    assert found.status_code == 200
    body = found.get_json()
    assert body["pmt_score"] == pytest.approx(person["score"]) and body["pmt_band"] == person["band"]
    assert set(body) == {"cnic", "pmt_score", "pmt_band", "snapshot_id"}
    assert call("GET", "/api/v1/pmt?cnic=12345", tok).status_code == 400
    assert call("GET", "/api/v1/pmt?cnic=9999999999999", tok).status_code == 404
    engine = ApiClients().engine
    with engine.connect() as conn:
        audit = conn.execute(
            select(AuditEntry.username, AuditEntry.kind, AuditEntry.outcome).where(
                AuditEntry.kind == "record_search"
            )
        ).all()
        ledger = conn.execute(select(LedgerEntry.service, LedgerEntry.units)).all()
    assert audit[0] == (f"api:{cid}", "record_search", "answered") and len(audit) == 3
    assert ledger == [("api_rows", 2)]  # the household and the searched person


def test_cube_queries_are_protected_as_the_clients_tier(partner):
    _, new_client, token, call = partner
    cid, secret = new_client(["aggregates"])
    tok = token(cid, secret)
    q = {
        "cube": "households",
        "measures": ["households"],
        "dimensions": ["urban_rural"],
        "geography": {"level": "province"},
    }
    ok = call("POST", "/api/v1/cubes/query", tok, json=q)
    assert ok.status_code == 200 and ok.get_json()["tier"] == "business"
    too_fine = call("POST", "/api/v1/cubes/query", tok, json={**q, "geography": {"level": "union_council"}})
    assert too_fine.status_code == 422 and "too detailed" in too_fine.get_json()["error_description"]
    assert call("POST", "/api/v1/cubes/query", tok, data="not json").status_code == 400


def test_rate_limit_and_daily_quota_answer_429_with_retry_after(partner):
    _, new_client, token, call = partner
    cid, secret = new_client(["aggregates"], requests_per_minute=2)
    tok = token(cid, secret)
    assert call("GET", "/api/v1/cubes", tok).status_code == 200
    assert call("GET", "/api/v1/cubes", tok).status_code == 200
    limited = call("GET", "/api/v1/cubes", tok)
    assert limited.status_code == 429 and int(limited.headers["Retry-After"]) > 0
    cid2, secret2 = new_client(["aggregates"])
    org = ApiClients().list()[0][0].organisation_id
    Metering().set_quota("organisation", org, "queries", 1)
    tok2 = token(cid2, secret2)
    q = {"cube": "households", "measures": ["households"], "geography": {"level": "province"}}
    assert call("POST", "/api/v1/cubes/query", tok2, json=q).status_code == 200
    over = call("POST", "/api/v1/cubes/query", tok2, json=q)
    assert (
        over.status_code == 429
        and over.get_json()["error"] == "quota_exceeded"
        and over.headers["Retry-After"]
    )


def test_api_clients_from_the_command_line(partner):
    from click.testing import CliRunner

    from dashboard.cli import main

    runner = CliRunner()
    bad = runner.invoke(
        main, ["api-clients", "add", "--org", "Utility Stores Corporation", "--name", "pos", "--scope", "all"]
    )
    assert bad.exit_code != 0 and "scopes" in bad.output
    made = runner.invoke(
        main,
        [
            "api-clients",
            "add",
            "--org",
            "Utility Stores Corporation",
            "--name",
            "pos",
            "--scope",
            "pmt_lookup",
        ],
    )
    assert made.exit_code == 0, made.output
    cid = made.output.split("client_id: ")[1].split()[0]
    assert cid in runner.invoke(main, ["api-clients", "list"]).output
    assert runner.invoke(main, ["api-clients", "revoke", cid]).exit_code == 0
    assert "revoked" in runner.invoke(main, ["api-clients", "list"]).output


def test_partner_feedback_is_checked_per_record_linked_and_staged_and_nothing_good_is_lost(partner, person):
    from dashboard.feedback import staged

    _, new_client, token, call = partner
    cid, secret = new_client(["feedback"])
    tok = token(cid, secret)
    purchase = {"store_code": "USC-0042", "purchased_on": "2026-11-20", "amount_pkr": 1850.5, "items": 6}
    body = {
        "type": "usc_purchase",
        "records": [
            {"cnic": person["cnic"], "observed": purchase},
            {"cnic": "9999999999999", "observed": purchase},  # nobody has it
            {"cnic": "12345", "observed": purchase},
            {"cnic": person["cnic"], "observed": {**purchase, "amount_pkr": -5}},
            {"cnic": person["cnic"], "observed": {**purchase, "colour": "red"}},
        ],
    }
    r = call("POST", "/api/v1/feedback", tok, json=body)
    assert r.status_code == 200
    answer = r.get_json()
    assert (answer["accepted"], answer["rejected"]) == (1, 4)
    reasons = [i.get("reason") for i in answer["items"]]
    assert reasons[0] is None and "no registered person" in reasons[1] and "13 digits" in reasons[2]
    assert "amount_pkr" in reasons[3] and "unknown field" in reasons[4]
    rows = staged()
    assert (
        len(rows) == 1
        and rows[0].payload == purchase
        and rows[0].client_id == cid
        and rows[0].status == "staged"
    )
    assert call("POST", "/api/v1/feedback", tok, json={"type": "gossip", "records": []}).status_code == 400
    no_scope_cid, no_scope_secret = new_client(["aggregates"])
    assert (
        call("POST", "/api/v1/feedback", token(no_scope_cid, no_scope_secret), json=body).status_code == 403
    )


def test_every_call_is_in_the_access_log_with_endpoint_and_outcome(partner):
    _, new_client, token, call = partner
    cid, secret = new_client(["aggregates"])
    tok = token(cid, secret)
    call("GET", "/api/v1/cubes", tok)
    call("POST", "/api/v1/cubes/query", tok, json={"cube": "nope", "measures": ["x"]})
    with ApiClients().engine.connect() as conn:
        calls = conn.execute(
            select(AuditEntry.action, AuditEntry.outcome, AuditEntry.username).where(
                AuditEntry.kind == "api_call"
            )
        ).all()
        queries = conn.execute(select(AuditEntry.outcome).where(AuditEntry.kind == "query")).all()
    assert [(a, o) for a, o, _ in calls] == [
        ("GET /api/v1/cubes", "200"),
        ("POST /api/v1/cubes/query", "422"),
    ]
    assert {u for _, _, u in calls} == {f"api:{cid}"} and queries == [("invalid",)]


def test_a_registry_delivers_its_feed_through_the_api(partner, person):
    """Seed 9: a partner registry posts a batch of its feed; it is checked whole, matched on CNIC and
    raises events for BISP's review; the same batch twice is refused, a bad one names every problem."""
    client, new_client, token, call = partner
    cid, secret = new_client(["integration"])
    tok = token(cid, secret)
    cnic = person["cnic"]
    records = [
        {"cnic": cnic, "event": "death", "event_date": "2026-10-01", "certificate_no": "CRMS-9"},
        {"cnic": "3520212345671", "event": "birth", "event_date": "2026-10-02"},
    ]
    answer = call(
        "POST", "/api/v1/integration/batches", tok, json={"feed": "crms_vital_events", "records": records}
    )
    assert answer.status_code == 200, answer.get_json()
    body = answer.get_json()
    assert (body["rows"], body["matched"], body["unmatched"], body["events"]) == (2, 1, 1, 1)
    again = call(
        "POST", "/api/v1/integration/batches", tok, json={"feed": "crms_vital_events", "records": records}
    )
    assert again.status_code == 409 and "same content" in again.get_json()["error_description"]
    bad = [{"cnic": "123", "event": "funeral", "event_date": "01/10/2026"}]
    refused = call(
        "POST", "/api/v1/integration/batches", tok, json={"feed": "crms_vital_events", "records": bad}
    )
    assert refused.status_code == 400
    fields = {(p["record"], p["field"]) for p in refused.get_json()["problems"]}
    assert fields == {(0, "cnic"), (0, "event"), (0, "event_date")}
    unknown = call("POST", "/api/v1/integration/batches", tok, json={"feed": "yachts", "records": records})
    assert unknown.status_code == 400 and "feed: one of" in unknown.get_json()["error_description"]
    other_cid, other_secret = new_client(["feedback"])
    forbidden = call(
        "POST",
        "/api/v1/integration/batches",
        token(other_cid, other_secret),
        json={"feed": "crms_vital_events", "records": records},
    )
    assert forbidden.status_code == 403
