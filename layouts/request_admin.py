"""The authorization forums' queue at /admin/requests: each member sees the requests for their forum,
oldest due first, overdue ones marked, and approves (provisioning the requester) or rejects with a
comment."""

from __future__ import annotations

import dash
import dash_bootstrap_components as dbc
from dash import dcc, html

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
        ]
    )
