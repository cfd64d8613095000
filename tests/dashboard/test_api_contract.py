"""The API's OpenAPI contract: generated from the routes, served with a docs page, and held to by the
server under schemathesis (bounded: a few dozen generated requests per operation)."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.specs.openapi.checks import positive_data_acceptance

from dashboard.api_clients import ApiClients

TOKEN: list[str] = []


@pytest.fixture()
def app(api_app):
    """The API app with one client holding every scope (and no practical rate limit)."""
    cid, secret = ApiClients().add(
        "Utility Stores Corporation",
        "contract test",
        ["aggregates", "pmt_lookup", "registry_search", "feedback"],
        record_role="standard",
        requests_per_minute=10_000,
    )
    TOKEN[:] = [ApiClients().issue_token(cid, secret)]
    return api_app


def test_the_document_describes_exactly_the_routes_and_has_a_docs_page(app):
    client = app.test_client()
    doc = client.get("/api/v1/openapi.json").get_json()
    assert doc["openapi"].startswith("3.")
    documented = {(path, m.upper()) for path, ops in doc["paths"].items() for m in ops}
    routed = {
        (rule.rule, m)
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/api/v1/") and rule.rule != "/api/v1/docs"
        for m in rule.methods - {"HEAD", "OPTIONS"}
    }
    assert documented == routed
    assert doc["components"]["securitySchemes"]["oauth2"]["flows"]["clientCredentials"]["scopes"]
    page = client.get("/api/v1/docs")
    assert page.status_code == 200 and "POST /api/v1/registry/sync/search" in page.get_data(as_text=True)
    assert "<script" not in page.get_data(as_text=True)


def test_the_server_keeps_its_contract(app):
    """Schemathesis generates requests from our OpenAPI document for every operation and checks each
    answer: no server error, documented status, content type and schema."""
    from hypothesis import given

    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 5
    # identity: the WSGI harness does not decode the compressed answers real clients ask for
    headers = {"Authorization": f"Bearer {TOKEN[0]}", "Accept-Encoding": "identity"}
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def holds(case):
            # a schema-valid query may still be refused on its meaning (a measure of another cube, an
            # area too detailed for the tier): 422 is documented for that, so that check is left out
            case.call_and_validate(headers=headers, excluded_checks=[positive_data_acceptance])

        holds()
