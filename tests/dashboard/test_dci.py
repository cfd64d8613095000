"""DCI registry sync search: requests and responses checked against the DCI registry core schemas
(tests/specs/dci, copied from spdci/standards), per-item status and reason codes, masking by the client's
record-access role, and malformed envelopes."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import jsonschema
import pytest
import yaml

from dashboard.api_clients import ApiClients

SPEC = yaml.safe_load(
    (Path(__file__).resolve().parents[1] / "specs" / "dci" / "registry_core_api_v1.0.0.yaml").read_text()
)
SYNC = SPEC["paths"]["/registry/sync/search"]["post"]


def validator(schema: dict) -> jsonschema.Draft4Validator:
    """A validator for an OpenAPI schema whose $refs point into the spec's components."""
    root = {**schema, "components": SPEC["components"]}
    return jsonschema.Draft4Validator(root)


REQUEST = validator(SYNC["requestBody"]["content"]["application/json"]["schema"])
RESPONSE = validator(SYNC["responses"]["default"]["content"]["application/json"]["schema"])


def envelope(*items, total=None) -> dict:
    body = {
        "signature": "",
        "header": {
            "version": "1.0.0",
            "message_id": "m-1",
            "message_ts": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            "action": "search",
            "sender_id": "usc.gov.pk",
            "total_count": len(items) if total is None else total,
        },
        "message": {"transaction_id": "t-1", "search_request": list(items)},
    }
    return body


def item(ref: str, query_type: str, query, **criteria) -> dict:
    return {
        "reference_id": ref,
        "timestamp": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "search_criteria": {"query_type": query_type, "query": query, **criteria},
    }


def test_cnic_and_predicate_searches_follow_the_dci_schemas_with_per_item_status(partner, person):
    _, new_client, token, call = partner
    cid, secret = new_client(["registry_search"], record_role="standard")
    tok = token(cid, secret)
    # 32.0, not 32: the DCI schema's AttributeValue is oneOf integer|number, so no integer passes it
    tehsil_query = [
        {
            "expression1": {"attribute_name": "area", "operator": "eq", "attribute_value": "PK601T01"},
            "condition": "and",
            "expression2": {"attribute_name": "pmt_score", "operator": "le", "attribute_value": 32.0},
        },
    ]
    body = envelope(
        item("r1", "idtype-value", {"type": "CNIC", "value": person["cnic"]}),
        item("r2", "predicate", tehsil_query, pagination={"page_size": 50, "page_number": 1}),
        item("r3", "idtype-value", {"type": "CNIC", "value": "123"}),
        item(
            "r4",
            "predicate",
            [
                {
                    "expression1": {
                        "attribute_name": "area",
                        "operator": "eq",
                        "attribute_value": "PK601T01",
                    },
                    "condition": "and",
                    "expression2": {"attribute_name": "name", "operator": "eq", "attribute_value": "x"},
                }
            ],
        ),
        item(
            "r5",
            "predicate",
            [{"expression1": {"attribute_name": "gender", "operator": "eq", "attribute_value": "female"}}],
        ),
    )
    REQUEST.validate(body)
    r = call("POST", "/api/v1/registry/sync/search", tok, json=body)
    assert r.status_code == 200
    answer = r.get_json()
    RESPONSE.validate(answer)
    items = {i["reference_id"]: i for i in answer["message"]["search_response"]}
    assert answer["header"]["action"] == "on-search" and answer["header"]["completed_count"] == 2
    assert items["r1"]["status"] == "succ"
    households = items["r1"]["data"]["reg_records"]["households"]
    assert households and "pmt_score" in households[0] and "head_cnic" not in households[0]  # Standard's view
    assert items["r2"]["status"] == "succ" and items["r2"]["pagination"]["page_number"] == 1
    assert all("pmt_score" not in h for h in items["r2"]["data"]["reg_records"]["households"])
    assert (
        items["r3"]["status"] == "rjct"
        and items["r3"]["status_reason_code"] == "rjct.search_criteria.invalid"
    )
    assert "13 digits" in items["r3"]["status_reason_message"]
    assert items["r4"]["status"] == "rjct" and items["r4"]["status_reason_code"] == "rjct.filter.invalid"
    assert "cannot be searched on" in items["r4"]["status_reason_message"]
    assert (
        items["r5"]["status_reason_code"] == "rjct.filter.invalid"
        and "area" in items["r5"]["status_reason_message"]
    )


@pytest.mark.parametrize(
    ("mutate", "code"),
    [
        (lambda b: b.pop("header"), "rjct.action.invalid"),
        (lambda b: b["header"].update(action="subscribe"), "rjct.action.not_supported"),
        (lambda b: b["header"].update(message_ts="yesterday"), "rjct.message_ts.invalid"),
        (lambda b: b["header"].update(total_count=5), "rjct.total_count.invalid"),
        (lambda b: b["message"].update(search_request=[]), "rjct.total_count.limit_exceeded"),
        (lambda b: b["header"].update(version="9.9.9"), "rjct.version.invalid"),
    ],
)
def test_malformed_envelopes_are_rejected_with_a_dci_reason_code(partner, person, mutate, code):
    _, new_client, token, call = partner
    cid, secret = new_client(["registry_search"], record_role="basic")
    body = envelope(item("r1", "idtype-value", {"type": "CNIC", "value": person["cnic"]}))
    mutate(body)
    r = call("POST", "/api/v1/registry/sync/search", token(cid, secret), json=body)
    assert r.status_code == 400
    answer = r.get_json()
    RESPONSE.validate(answer)
    assert answer["header"]["status"] == "rjct" and answer["header"]["status_reason_code"] == code
    assert "message" not in answer


def test_a_client_without_a_record_role_gets_rejected_items_and_nothing_else(partner, person):
    _, new_client, token, call = partner
    cid, secret = new_client(["registry_search"])
    r = call(
        "POST",
        "/api/v1/registry/sync/search",
        token(cid, secret),
        json=envelope(item("r1", "idtype-value", {"type": "UIN", "value": person["cnic"]})),
    )
    only = r.get_json()["message"]["search_response"][0]
    assert (
        only["status"] == "rjct"
        and "no record-access role" in only["status_reason_message"]
        and "data" not in only
    )
    assert ApiClients().list()


@pytest.fixture()
def partner_server():
    """The partner's side: a local HTTP server that records what is POSTed to it."""
    import json
    import threading

    from werkzeug.serving import make_server
    from werkzeug.wrappers import Request, Response

    received: list[tuple[str, dict]] = []

    @Request.application
    def app(request):
        received.append((request.path, json.loads(request.get_data() or b"{}")))
        return Response('{"message": {"ack_status": "ACK"}}', content_type="application/json")

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/dci", received
    server.shutdown()


def test_async_search_is_acknowledged_then_answered_to_the_registered_callback(
    partner, person, partner_server
):
    import time

    url, received = partner_server
    _, new_client, token, call = partner
    cid, secret = new_client(["registry_search"], record_role="basic", callback_url=url)
    tok = token(cid, secret)
    body = envelope(item("r1", "idtype-value", {"type": "CNIC", "value": person["cnic"]}))
    body["header"]["sender_uri"] = (
        "http://169.254.169.254/latest"  # ignored: answers go to the registered URL
    )
    accepted = call("POST", "/api/v1/registry/search", tok, json=body)
    assert accepted.status_code == 202 and accepted.get_json()["message"]["ack_status"] == "ACK"
    correlation = accepted.get_json()["message"]["correlation_id"]
    status_query = {
        "message": {
            "txnstatus_request": {
                "txn_type": "search",
                "attribute_type": "transaction_id",
                "attribute_value": "t-1",
            }
        }
    }
    for _ in range(100):
        state = call("POST", "/api/v1/registry/sync/txn/status", tok, json=status_query).get_json()
        if state["message"]["txnstatus_response"]["status"] != "pdng":
            break
        time.sleep(0.1)
    assert state["message"]["txnstatus_response"] == {
        "txn_type": "search",
        "status": "succ",
        "callback": "delivered",
    }
    ((path, answer),) = received
    assert path == "/dci/registry/on-search" and answer["message"]["correlation_id"] == correlation
    on_search = SPEC["paths"]["/registry/on-search"]["post"]["requestBody"]["content"]["application/json"][
        "schema"
    ]
    validator(on_search).validate(answer)
    only = answer["message"]["search_response"][0]
    assert only["status"] == "succ" and set(only["data"]["reg_records"]["members"].popitem()[1][0]) == {
        "name"
    }


def test_async_search_needs_a_registered_callback_and_unknown_transactions_are_404(partner, person):
    _, new_client, token, call = partner
    cid, secret = new_client(["registry_search"], record_role="basic")
    tok = token(cid, secret)
    refused = call(
        "POST",
        "/api/v1/registry/search",
        tok,
        json=envelope(item("r1", "idtype-value", {"type": "CNIC", "value": person["cnic"]})),
    )
    assert refused.status_code == 400 and refused.get_json()["message"]["ack_status"] == "ERR"
    missing = call(
        "POST",
        "/api/v1/registry/sync/txn/status",
        tok,
        json={
            "message": {"txnstatus_request": {"attribute_type": "transaction_id", "attribute_value": "nope"}}
        },
    )
    assert missing.status_code == 404
