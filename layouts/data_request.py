"""The public data request form at /request (plan 8.2.5) and the requester's status page."""

from __future__ import annotations

import dash
import dash_bootstrap_components as dbc
from dash import dcc, html

from dashboard import governance, i18n
from dashboard.data_requests import load_rules
from dashboard.i18n import N_, _, page_title, translated
from layouts import ids

dash.register_page(
    __name__,
    path="/request",
    title=page_title(N_("Request data — NSER Insight")),
    tier="public",
    name="Request data",
)

FIELDS = [
    ("organisation_name", N_("Name of the organisation"), "text"),
    ("address", N_("Address"), "text"),
    ("registration_body", N_("Registered with (where your type of organisation requires it)"), "text"),
    ("registration_number", N_("Registration number"), "text"),
    ("focal_person", N_("Focal person"), "text"),
    ("email", N_("Email"), "email"),
    ("phone", N_("Contact number"), "tel"),
]
# the units governance.yaml meters its services in
UNITS = {"row": N_("row"), "report": N_("report"), "cell": N_("cell")}
# the texts dcc.Dropdown writes itself (its English defaults)
DROPDOWN_LABELS = {
    "select_all": N_("Select All"),
    "deselect_all": N_("Deselect All"),
    "selected_count": N_("{num_selected} selected"),
    "search": N_("Search"),
    "clear_search": N_("Clear search"),
    "clear_selection": N_("Clear selection"),
    "no_options_found": N_("No options found"),
}


def dropdown_labels() -> dict[str, str]:
    return {k: _(v) for k, v in DROPDOWN_LABELS.items()}


def typed() -> dict:
    """On a right-to-left page, typed text takes the direction of its first letter: an email, a phone
    number or a status key stays left-to-right and in order, Urdu stays right-to-left."""
    return {"style": {"unicodeBidi": "plaintext"}} if i18n.direction() == "rtl" else {}


def field(name: str, label: str, kind: str = "text"):
    return dbc.Col(
        [dbc.Label(_(label), html_for=f"rq-{name}"), dbc.Input(id=f"rq-{name}", type=kind, **typed())],
        md=6,
        className="mb-2",
    )


def layout(**_ignored) -> html.Div:
    rules = load_rules()
    nda = rules["signed_nda"]
    nda_size = f"{nda['max_bytes'] / 1e6:.0f}"
    gov = governance.load()
    types = [
        {"label": _(t["label"]), "value": k} for k, t in gov["organisation_types"].items() if k != "bisp"
    ]
    rates = [
        html.Li(
            translated(
                "{service}: PKR {government} (government) / {private} (private) per {unit}",
                service=_(gov["services"][s]["label"]),
                government=f"{r['government']:g}",
                private=f"{r['private']:g}",
                unit=_(UNITS.get(gov["services"][s]["unit"], gov["services"][s]["unit"])),
            )
        )
        for s, r in gov["rates"].items()
    ]
    timelines = [
        html.Li(translated("{service}: {days} working days", service=_(s["label"]), days=s["working_days"]))
        for s in rules["services"].values()
    ]
    return html.Div(
        [
            html.H1(_("Request NSER data"), className="h3"),
            html.P(
                _(
                    "Government bodies, researchers and other organisations may request NSER data. Your request "
                    "is routed to the forum that authorizes it (Director General NSER, Secretary BISP or the BISP "
                    "Board) and answered within the service timelines below."
                ),
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
                                                _("Type of organisation"), html_for="rq-organisation_type"
                                            ),
                                            dcc.Dropdown(
                                                id="rq-organisation_type",
                                                options=types,
                                                labels=dropdown_labels(),
                                            ),
                                        ],
                                        md=12,
                                        className="mb-2",
                                    )
                                ]
                            ),
                            dbc.Row([field(n, lbl, k) for n, lbl, k in FIELDS[2:]]),
                            dbc.Label(_("Purpose of the organisation"), html_for="rq-purpose"),
                            dbc.Textarea(id="rq-purpose", className="mb-2", **typed()),
                            dbc.Label(_("Intended use of the data"), html_for="rq-intended_use"),
                            dbc.Textarea(id="rq-intended_use", className="mb-2", **typed()),
                            dbc.Row(
                                [
                                    dbc.Col(
                                        [
                                            dbc.Label(_("Type of data"), html_for="rq-data_type"),
                                            dcc.Dropdown(
                                                id="rq-data_type",
                                                labels=dropdown_labels(),
                                                options=[
                                                    {"label": _(v), "value": k}
                                                    for k, v in rules["data_types"].items()
                                                ],
                                            ),
                                        ],
                                        md=6,
                                    ),
                                    dbc.Col(
                                        [
                                            dbc.Label(_("Frequency"), html_for="rq-frequency"),
                                            dcc.Dropdown(
                                                id="rq-frequency",
                                                labels=dropdown_labels(),
                                                options=[
                                                    {"label": _("One time"), "value": "one_time"},
                                                    {"label": _("Continuous"), "value": "continuous"},
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
                                            dbc.Label(_("Delivery"), html_for="rq-channel"),
                                            dcc.Dropdown(
                                                id="rq-channel",
                                                labels=dropdown_labels(),
                                                options=[
                                                    {"label": _(v), "value": k}
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
                                                _("API callback URL (optional, for answers sent back)"),
                                                html_for="rq-callback_url",
                                            ),
                                            dbc.Input(id="rq-callback_url", type="url", **typed()),
                                        ],
                                        md=6,
                                    ),
                                ],
                                className="mb-2",
                            ),
                            dbc.Label(
                                _(
                                    "Statistics already in a published report? Choose it: no authorization is "
                                    "needed"
                                ),
                                html_for="rq-report_slug",
                            ),
                            dcc.Dropdown(
                                id="rq-report_slug",
                                placeholder=_("(none)"),
                                className="mb-2",
                                labels=dropdown_labels(),
                            ),
                            dbc.Label(
                                _("Granularity: which areas, variables and level of detail"),
                                html_for="rq-granularity",
                            ),
                            dbc.Textarea(id="rq-granularity", className="mb-2", **typed()),
                            dbc.Checkbox(
                                id="rq-nda_accepted",
                                label=_(
                                    "We accept the data-sharing agreement and the NDA (needed for record-level "
                                    "data)"
                                ),
                                value=False,
                            ),
                            dbc.Label(
                                translated(
                                    "Signed NDA (record-level data): the NDA signed by an authorised officer, PDF "
                                    "or a scan, at most {size} MB",
                                    size=nda_size,
                                ),
                                html_for=ids.RQ_NDA_UPLOAD,
                                className="mt-2",
                            ),
                            dcc.Upload(
                                id=ids.RQ_NDA_UPLOAD,
                                children=html.Div(
                                    [html.I(className="bi bi-upload me-2"), _("Choose the signed NDA")],
                                    className="btn btn-outline-secondary btn-sm",
                                ),
                                accept=".pdf,.png,.jpg,.jpeg,application/pdf,image/png,image/jpeg",
                                max_size=nda["max_bytes"],
                                multiple=False,
                            ),
                            html.Div(id=ids.RQ_NDA_NAME, className="small text-body-secondary mt-1"),
                            dbc.Button(
                                _("Submit the request"), id=ids.RQ_SUBMIT, color="primary", className="mt-2"
                            ),
                            html.Div(id=ids.RQ_RESULT, className="mt-3", role="status"),
                        ],
                        lg=8,
                    ),
                    dbc.Col(
                        [
                            html.H2(_("Documents"), className="h6"),
                            html.Ul(
                                [
                                    html.Li(
                                        html.A(
                                            _("Data-sharing agreement (Schedule II)"),
                                            href="/assets/templates/data-sharing-agreement.md",
                                            download="",
                                        )
                                    ),
                                    html.Li(
                                        html.A(
                                            _("Non-disclosure agreement (Schedule III)"),
                                            href="/assets/templates/non-disclosure-agreement.md",
                                            download="",
                                        )
                                    ),
                                ]
                            ),
                            html.H2(_("Timelines"), className="h6"),
                            html.Ul(timelines, className="small"),
                            html.H2(_("Rates"), className="h6"),
                            html.Ul(rates, className="small"),
                            html.H2(_("Questions"), className="h6"),
                            dbc.Accordion(
                                [
                                    dbc.AccordionItem(
                                        html.P(_(item["a"]), className="small mb-0"), title=_(item["q"])
                                    )
                                    for item in rules.get("faq") or []
                                ],
                                start_collapsed=True,
                                className="small mb-2",
                                id="rq-faq",
                            ),
                            html.P(
                                translated("BISP focal person: {person}.", person=_(rules["focal_person"])),
                                className="small",
                            ),
                            html.H2(_("Check a request"), className="h6 mt-3"),
                            dbc.Input(
                                id=ids.RQ_STATUS_REF,
                                placeholder=_("Reference, e.g. NSER-REQ-2026-000001"),
                                className="mb-1",
                                **typed(),
                            ),
                            dbc.Input(
                                id=ids.RQ_STATUS_KEY, placeholder=_("Status key"), className="mb-1", **typed()
                            ),
                            dbc.Button(_("Show status"), id=ids.RQ_STATUS_GO, size="sm", color="secondary"),
                            dbc.Button(
                                _("Collect credentials"),
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
