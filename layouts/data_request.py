"""The public data request form at /request (plan 8.2.5) and the requester's status page."""

from __future__ import annotations

import dash
import dash_bootstrap_components as dbc
from dash import dcc, html

from dashboard import governance
from dashboard.data_requests import load_rules
from layouts import ids

dash.register_page(
    __name__, path="/request", title="Request data — NSER Insight", tier="public", name="Request data"
)

FIELDS = [
    ("organisation_name", "Name of the organisation", "text"),
    ("address", "Address", "text"),
    ("registration_body", "Registered with (where your type of organisation requires it)", "text"),
    ("registration_number", "Registration number", "text"),
    ("focal_person", "Focal person", "text"),
    ("email", "Email", "email"),
    ("phone", "Contact number", "tel"),
]


def field(name: str, label: str, kind: str = "text"):
    return dbc.Col(
        [dbc.Label(label, html_for=f"rq-{name}"), dbc.Input(id=f"rq-{name}", type=kind)],
        md=6,
        className="mb-2",
    )


def layout(**_) -> html.Div:
    rules = load_rules()
    nda = rules["signed_nda"]
    gov = governance.load()
    types = [{"label": t["label"], "value": k} for k, t in gov["organisation_types"].items() if k != "bisp"]
    rates = [
        html.Li(
            f"{gov['services'][s]['label']}: PKR {r['government']:g} (government) / {r['private']:g} (private) per {gov['services'][s]['unit']}"
        )
        for s, r in gov["rates"].items()
    ]
    timelines = [
        html.Li(f"{s['label']}: {s['working_days']} working days") for s in rules["services"].values()
    ]
    return html.Div(
        [
            html.H1("Request NSER data", className="h3"),
            html.P(
                "Government bodies, researchers and other organisations may request NSER data. Your request is "
                "routed to the forum that authorizes it (Director General NSER, Secretary BISP or the BISP Board) "
                "and answered within the service timelines below.",
            ),
            dbc.Row(
                [
                    dbc.Col(
                        [
                            dbc.Row([field(n, lbl, k) for n, lbl, k in FIELDS[:2]]),
                            dbc.Row(
                                [
                                    dbc.Col(
                                        [
                                            dbc.Label(
                                                "Type of organisation", html_for="rq-organisation_type"
                                            ),
                                            dcc.Dropdown(id="rq-organisation_type", options=types),
                                        ],
                                        md=12,
                                        className="mb-2",
                                    )
                                ]
                            ),
                            dbc.Row([field(n, lbl, k) for n, lbl, k in FIELDS[2:]]),
                            dbc.Label("Purpose of the organisation", html_for="rq-purpose"),
                            dbc.Textarea(id="rq-purpose", className="mb-2"),
                            dbc.Label("Intended use of the data", html_for="rq-intended_use"),
                            dbc.Textarea(id="rq-intended_use", className="mb-2"),
                            dbc.Row(
                                [
                                    dbc.Col(
                                        [
                                            dbc.Label("Type of data", html_for="rq-data_type"),
                                            dcc.Dropdown(
                                                id="rq-data_type",
                                                options=[
                                                    {"label": v, "value": k}
                                                    for k, v in rules["data_types"].items()
                                                ],
                                            ),
                                        ],
                                        md=6,
                                    ),
                                    dbc.Col(
                                        [
                                            dbc.Label("Frequency", html_for="rq-frequency"),
                                            dcc.Dropdown(
                                                id="rq-frequency",
                                                options=[
                                                    {"label": "One time", "value": "one_time"},
                                                    {"label": "Continuous", "value": "continuous"},
                                                ],
                                            ),
                                        ],
                                        md=6,
                                    ),
                                ],
                                className="mb-2",
                            ),
                            dbc.Row(
                                [
                                    dbc.Col(
                                        [
                                            dbc.Label("Delivery", html_for="rq-channel"),
                                            dcc.Dropdown(
                                                id="rq-channel",
                                                options=[
                                                    {"label": v, "value": k}
                                                    for k, v in rules["channels"].items()
                                                ],
                                                value="portal",
                                                clearable=False,
                                            ),
                                        ],
                                        md=6,
                                    ),
                                    dbc.Col(
                                        [
                                            dbc.Label(
                                                "API callback URL (optional, for answers sent back)",
                                                html_for="rq-callback_url",
                                            ),
                                            dbc.Input(id="rq-callback_url", type="url"),
                                        ],
                                        md=6,
                                    ),
                                ],
                                className="mb-2",
                            ),
                            dbc.Label(
                                "Statistics already in a published report? Choose it: no authorization is needed",
                                html_for="rq-report_slug",
                            ),
                            dcc.Dropdown(id="rq-report_slug", placeholder="(none)", className="mb-2"),
                            dbc.Label(
                                "Granularity: which areas, variables and level of detail",
                                html_for="rq-granularity",
                            ),
                            dbc.Textarea(id="rq-granularity", className="mb-2"),
                            dbc.Checkbox(
                                id="rq-nda_accepted",
                                label="We accept the data-sharing agreement and the NDA (needed for record-level data)",
                                value=False,
                            ),
                            dbc.Label(
                                "Signed NDA (record-level data): the NDA signed by an authorised officer, PDF or a scan, "
                                f"at most {nda['max_bytes'] / 1e6:.0f} MB",
                                html_for=ids.RQ_NDA_UPLOAD,
                                className="mt-2",
                            ),
                            dcc.Upload(
                                id=ids.RQ_NDA_UPLOAD,
                                children=html.Div(
                                    [html.I(className="bi bi-upload me-2"), "Choose the signed NDA"],
                                    className="btn btn-outline-secondary btn-sm",
                                ),
                                accept=".pdf,.png,.jpg,.jpeg,application/pdf,image/png,image/jpeg",
                                max_size=nda["max_bytes"],
                                multiple=False,
                            ),
                            html.Div(id=ids.RQ_NDA_NAME, className="small text-body-secondary mt-1"),
                            dbc.Button(
                                "Submit the request", id=ids.RQ_SUBMIT, color="primary", className="mt-2"
                            ),
                            html.Div(id=ids.RQ_RESULT, className="mt-3", role="status"),
                        ],
                        lg=8,
                    ),
                    dbc.Col(
                        [
                            html.H2("Documents", className="h6"),
                            html.Ul(
                                [
                                    html.Li(
                                        html.A(
                                            "Data-sharing agreement (Schedule II)",
                                            href="/assets/templates/data-sharing-agreement.md",
                                            download="",
                                        )
                                    ),
                                    html.Li(
                                        html.A(
                                            "Non-disclosure agreement (Schedule III)",
                                            href="/assets/templates/non-disclosure-agreement.md",
                                            download="",
                                        )
                                    ),
                                ]
                            ),
                            html.H2("Timelines", className="h6"),
                            html.Ul(timelines, className="small"),
                            html.H2("Rates", className="h6"),
                            html.Ul(rates, className="small"),
                            html.H2("Questions", className="h6"),
                            dbc.Accordion(
                                [
                                    dbc.AccordionItem(
                                        html.P(item["a"], className="small mb-0"), title=item["q"]
                                    )
                                    for item in rules.get("faq") or []
                                ],
                                start_collapsed=True,
                                className="small mb-2",
                                id="rq-faq",
                            ),
                            html.P(f"BISP focal person: {rules['focal_person']}.", className="small"),
                            html.H2("Check a request", className="h6 mt-3"),
                            dbc.Input(
                                id=ids.RQ_STATUS_REF,
                                placeholder="Reference, e.g. NSER-REQ-2026-000001",
                                className="mb-1",
                            ),
                            dbc.Input(id=ids.RQ_STATUS_KEY, placeholder="Status key", className="mb-1"),
                            dbc.Button("Show status", id=ids.RQ_STATUS_GO, size="sm", color="secondary"),
                            dbc.Button(
                                "Collect credentials",
                                id=ids.RQ_COLLECT,
                                size="sm",
                                color="success",
                                outline=True,
                                className="ms-2",
                            ),
                            html.Div(id=ids.RQ_STATUS_OUT, className="mt-2 small", role="status"),
                            html.Div(id=ids.RQ_CREDENTIALS, className="mt-2 small", role="status"),
                        ],
                        lg=4,
                    ),
                ]
            ),
        ]
    )
