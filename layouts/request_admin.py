"""The authorization forums' queue at /admin/requests: each member sees the requests for their forum,
oldest due first, overdue ones marked, and approves (provisioning the requester) or rejects with a
comment."""

from __future__ import annotations

import dash
import dash_bootstrap_components as dbc
from dash import dcc, html

from dashboard import governance
from layouts import ids

dash.register_page(
    __name__, path="/admin/requests", title="Data requests — NSER Insight", tier="mis", name="Data requests"
)


def layout(**_) -> html.Div:
    return html.Div(
        [
            html.H1("Data requests", className="h3"),
            html.Div(id=ids.RQA_QUEUE),
            dbc.Card(
                dbc.CardBody(
                    [
                        html.H2("Decide", className="h6"),
                        dbc.Row(
                            [
                                dbc.Col(dbc.Input(id=ids.RQA_REF, placeholder="reference"), md=4),
                                dbc.Col(
                                    dcc.Dropdown(
                                        id=ids.RQA_ROLE,
                                        options=[
                                            {"label": r, "value": r}
                                            for r in ("none", "basic", "standard", "power")
                                        ],
                                        placeholder="record role to grant",
                                    ),
                                    md=3,
                                ),
                                dbc.Col(
                                    dbc.Input(id=ids.RQA_SCOPE, placeholder="area (optional), e.g. PK6"), md=2
                                ),
                                dbc.Col(
                                    dbc.Input(id=ids.RQA_COMMENT, placeholder="comment (required to reject)"),
                                    md=3,
                                ),
                            ],
                            className="g-2",
                        ),
                        dbc.Row(
                            [
                                dbc.Col(
                                    [
                                        dbc.Label(
                                            "API scopes (for delivery by API)",
                                            html_for=ids.RQA_SCOPES,
                                            className="small",
                                        ),
                                        dcc.Dropdown(
                                            id=ids.RQA_SCOPES,
                                            options=[
                                                {"label": f"{k}: {v}", "value": k}
                                                for k, v in governance.load()["api_scopes"].items()
                                            ],
                                            multi=True,
                                            placeholder="all the request's type of data allows",
                                        ),
                                    ],
                                    md=8,
                                ),
                                dbc.Col(
                                    [
                                        dbc.Label("Days of access", html_for=ids.RQA_DAYS, className="small"),
                                        dbc.Input(
                                            id=ids.RQA_DAYS,
                                            type="number",
                                            min=1,
                                            step=1,
                                            placeholder="the longest allowed",
                                        ),
                                    ],
                                    md=4,
                                ),
                            ],
                            className="g-2 mt-1",
                        ),
                        html.P(
                            "A forum grants no more than the type of data allows: statistics give no record role; "
                            "confidential data basic or standard; secret data and complete exports power. The "
                            "requester collects the credentials once from the status page.",
                            className="small text-body-secondary mt-2 mb-0",
                        ),
                        dbc.ButtonGroup(
                            [
                                dbc.Button("Approve and provision", id=ids.RQA_APPROVE, color="success"),
                                dbc.Button("Reject", id=ids.RQA_REJECT, color="danger", outline=True),
                            ],
                            className="mt-2",
                        ),
                        html.Div(id=ids.RQA_OUT, className="mt-2", role="status"),
                    ]
                ),
                className="mt-3",
            ),
            html.H2("Messages", className="h6 mt-4"),
            html.Div(id=ids.RQA_OUTBOX),
        ]
    )
