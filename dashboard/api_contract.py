"""The API's OpenAPI 3 document, built from the routes the blueprint registers: each view declares its
contract with ``@contract(...)`` next to its code, and ``openapi()`` assembles those declarations, so the
document cannot describe an endpoint that does not exist or miss one that does (a test checks both)."""

from __future__ import annotations

from collections.abc import Callable

ERROR = {
    "type": "object",
    "properties": {"error": {"type": "string"}, "error_description": {"type": "string"}},
    "required": ["error", "error_description"],
}
CONTRACTS: dict[str, dict] = {}  # view name → declaration


def contract(
    summary: str,
    scope: str | None,
    responses: dict[int, dict | None],
    request: dict | None = None,
    form: dict | None = None,
    parameters: list[dict] | None = None,
) -> Callable:
    """Declare a view's contract: its summary, OAuth2 scope, request body and responses by status."""

    def mark(view):
        CONTRACTS[view.__name__] = {
            "summary": (summary or "").strip(),
            "description": (view.__doc__ or "").strip(),
            "scope": scope,
            "responses": responses,
            "request": request,
            "form": form,
            "parameters": parameters or [],
        }
        return view

    return mark


def openapi(app, prefix: str = "/api/v1") -> dict:
    """The OpenAPI 3.0 document of every documented route under ``prefix``."""
    from dashboard import governance

    paths: dict[str, dict] = {}
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith(prefix):
            continue
        view = app.view_functions[rule.endpoint]
        spec = CONTRACTS.get(getattr(view, "__name__", ""))
        if spec is None:
            continue
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            op: dict = {
                "operationId": rule.endpoint.replace(".", "_"),
                "summary": spec["summary"],
                "description": spec["description"],
                "responses": {
                    str(status): {
                        "description": {200: "OK", 202: "Accepted"}.get(status, "error"),
                        "content": {"application/json": {"schema": schema or ERROR}},
                    }
                    for status, schema in spec["responses"].items()
                },
            }
            if spec["scope"]:
                op["security"] = [{"oauth2": [spec["scope"]]}]
                for status in (401, 403, 429):
                    op["responses"].setdefault(
                        str(status),
                        {"description": "error", "content": {"application/json": {"schema": ERROR}}},
                    )
            if spec["parameters"]:
                op["parameters"] = spec["parameters"]
            if spec["request"] is not None:
                op["requestBody"] = {
                    "required": True,
                    "content": {"application/json": {"schema": spec["request"]}},
                }
            if spec["form"] is not None:
                op["requestBody"] = {
                    "required": True,
                    "content": {"application/x-www-form-urlencoded": {"schema": spec["form"]}},
                }
            paths.setdefault(rule.rule, {})[method.lower()] = op
    scopes = governance.load()["api_scopes"]
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "NSER Insight data-sharing API",
            "version": "1.0.0",
            "description": "For partner organisations (BISP data-sharing plan §8.3). Every answer passes the same "
            "gateway as the portal: protection by tier, masking by record-access role, audit and metering.",
        },
        "servers": [{"url": "/"}],
        "paths": dict(sorted(paths.items())),
        "components": {
            "securitySchemes": {
                "oauth2": {
                    "type": "oauth2",
                    "flows": {"clientCredentials": {"tokenUrl": f"{prefix}/oauth/token", "scopes": scopes}},
                }
            }
        },
    }


def docs_page(document: dict) -> str:
    """A plain HTML page describing the API (no scripts, no fonts from elsewhere)."""
    from html import escape

    rows = []
    for path, ops in document["paths"].items():
        for method, op in ops.items():
            scope = ", ".join(s for sec in op.get("security", []) for s in sec.get("oauth2", []))
            rows.append(
                f"<h2><code>{method.upper()} {escape(path)}</code></h2><p>{escape(op['summary'])}</p>"
                f"<p><small>scope: {escape(scope or 'none')} · responses: "
                f"{', '.join(sorted(op['responses']))}</small></p><p>{escape(op['description'])}</p>"
            )
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'><title>NSER Insight API</title>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        "<style>body{font-family:system-ui,sans-serif;max-width:52rem;margin:2rem auto;padding:0 1rem;"
        "line-height:1.5}code{background:#f3f3f3;padding:.1rem .3rem}h2{font-size:1.05rem;margin-top:1.6rem}"
        "</style></head><body><h1>NSER Insight data-sharing API</h1>"
        f"<p>{escape(document['info']['description'])}</p><p>Machine-readable contract: "
        "<a href='/api/v1/openapi.json'>/api/v1/openapi.json</a>. Get a token with OAuth2 client "
        "credentials at <code>POST /api/v1/oauth/token</code>.</p>" + "".join(rows) + "</body></html>"
    )
