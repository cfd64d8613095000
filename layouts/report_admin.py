"""MIS report designer at /admin/reports: designs as JSON (the stored form), a preview of exactly what the
audience will see, the approval workflow, history, and everything public with revoke in one click."""

from __future__ import annotations

import dash
import dash_bootstrap_components as dbc
from dash import dcc, html

from layouts import components, ids

dash.register_page(
    __name__,
    path="/admin/reports",
    title="Report designer — NSER Insight",
    tier="mis",
    name="Report designer",
)

HELP = (
    "A design is JSON: slug, title, description, topic, audience (public or business), optional "
    "parameters (an area picker: name, label, level province|district|tehsil, default) and panels "
    "(title, visual table|bar|stacked|pyramid|map|headline, query as in the explorer; {name} stands for a "
    "parameter's value). Paste an explorer link to add its table as a panel."
)


def layout(**_ignored) -> html.Div:
    buttons = dbc.ButtonGroup(
        [
            dbc.Button("Preview", id=ids.RA_PREVIEW, color="secondary", outline=True),
            dbc.Button("Save draft", id=ids.RA_SAVE, color="primary"),
            dbc.Button("Submit for approval", id=ids.RA_SUBMIT, color="primary", outline=True),
        ],
        className="my-2",
    )
    decision = dbc.Card(
        dbc.CardBody(
            [
                html.H2("Decision (Director General NSER) and rollback", className="h6"),
                dbc.Row(
                    [
                        dbc.Col(
                            dbc.Input(id=ids.RA_VERSION, type="number", min=1, placeholder="version"), md=3
                        ),
                        dbc.Col(
                            dbc.Input(id=ids.RA_COMMENT, placeholder="comment (required to reject)"), md=9
                        ),
                    ],
                    className="g-2",
                ),
                dbc.ButtonGroup(
                    [
                        dbc.Button("Approve and publish", id=ids.RA_APPROVE, color="success"),
                        dbc.Button("Reject", id=ids.RA_REJECT, color="danger", outline=True),
                        dbc.Button(
                            "Roll back to this version", id=ids.RA_ROLLBACK, color="warning", outline=True
                        ),
                    ],
                    className="mt-2",
                ),
            ]
        ),
        className="my-2",
    )
    return html.Div(
        [
            html.H1("Report designer", className="h3"),
            dbc.Row(
                [
                    dbc.Col(
                        [
                            html.Label("Report", htmlFor=ids.RA_PICK, className="form-label fw-semibold"),
                            dcc.Dropdown(id=ids.RA_PICK, placeholder="New report", clearable=True),
                            html.H2("All reports", className="h6 mt-3"),
                            html.Div(id=ids.RA_LIST),
                            html.H2("Public now", className="h6 mt-3"),
                            html.Div(id=ids.RA_PUBLIC),
                        ],
                        lg=4,
                    ),
                    dbc.Col(
                        [
                            html.P(HELP, className="small text-body-secondary"),
                            html.Label(
                                "Design (JSON)", htmlFor=ids.RA_DESIGN, className="form-label fw-semibold"
                            ),
                            dbc.Textarea(
                                id=ids.RA_DESIGN,
                                rows=18,
                                className="font-monospace small",
                                spellCheck=False,
                            ),
                            dbc.InputGroup(
                                [
                                    dbc.Input(
                                        id=ids.RA_EXPLORER_LINK,
                                        placeholder="explorer link, e.g. /explore?cube=…",
                                    ),
                                    dbc.Button("Add as panel", id=ids.RA_ADD_PANEL, color="secondary"),
                                ],
                                className="mt-2",
                            ),
                            buttons,
                            html.Div(id=ids.RA_MESSAGE, role="status"),
                            decision,
                            html.H2("History", className="h6 mt-3"),
                            html.Div(id=ids.RA_HISTORY),
                        ],
                        lg=8,
                    ),
                ]
            ),
            html.H2("Preview: what the audience will see", className="h5 mt-4"),
            components.loading(html.Div(id=ids.RA_PREVIEW_OUT)),
        ]
    )
