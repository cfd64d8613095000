"""The authorization forums' queue at /admin/requests: each member sees the requests for their forum,
oldest due first, overdue ones marked, and approves (provisioning the requester) or rejects with a
comment."""

from __future__ import annotations

import dash
import dash_bootstrap_components as dbc
from dash import dcc, html

from dashboard import governance
from dashboard.i18n import N_, _, page_title
from layouts import ids
from layouts.data_request import dropdown_labels, typed

dash.register_page(
    __name__,
    path="/admin/requests",
    title=page_title(N_("Data requests — NSER Insight")),
    tier="mis",
    name="Data requests",
)


def layout(**_ignored) -> html.Div:
    return html.Div(
        [
            html.H1(_("Data requests"), className="h3"),
            html.Div(id=ids.RQA_QUEUE),
            dbc.Card(
                dbc.CardBody(
                    [
                        html.H2(_("Decide"), className="h6"),
                        dbc.Row(
                            [
                                dbc.Col(
                                    dbc.Input(id=ids.RQA_REF, placeholder=_("reference"), **typed()), md=4
                                ),
                                dbc.Col(
                                    dcc.Dropdown(
                                        id=ids.RQA_ROLE,
                                        labels=dropdown_labels(),
                                        options=[
                                            {"label": _(r), "value": r}
                                            for r in (N_("none"), N_("basic"), N_("standard"), N_("power"))
                                        ],
                                        placeholder=_("record role to grant"),
                                    ),
                                    md=3,
                                ),
                                dbc.Col(
                                    dbc.Input(
                                        id=ids.RQA_SCOPE,
                                        placeholder=_("area (optional), e.g. PK6"),
                                        **typed(),
                                    ),
                                    md=2,
                                ),
                                dbc.Col(
                                    dbc.Input(
                                        id=ids.RQA_COMMENT,
                                        placeholder=_("comment (required to reject)"),
                                        **typed(),
                                    ),
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
                                            _("API scopes (for delivery by API)"),
                                            html_for=ids.RQA_SCOPES,
                                            className="small",
                                        ),
                                        dcc.Dropdown(
                                            id=ids.RQA_SCOPES,
                                            labels=dropdown_labels(),
                                            options=[
                                                {"label": f"{k}: {_(v)}", "value": k}
                                                for k, v in governance.load()["api_scopes"].items()
                                            ],
                                            multi=True,
                                            placeholder=_("all the request's type of data allows"),
                                        ),
                                    ],
                                    md=8,
                                ),
                                dbc.Col(
                                    [
                                        dbc.Label(
                                            _("Days of access"), html_for=ids.RQA_DAYS, className="small"
                                        ),
                                        dbc.Input(
                                            id=ids.RQA_DAYS,
                                            type="number",
                                            min=1,
                                            step=1,
                                            placeholder=_("the longest allowed"),
                                        ),
                                    ],
                                    md=4,
                                ),
                            ],
                            className="g-2 mt-1",
                        ),
                        html.P(
                            _(
                                "A forum grants no more than the type of data allows: statistics give no record "
                                "role; confidential data basic or standard; secret data and complete exports "
                                "power. The requester collects the credentials once from the status page."
                            ),
                            className="small text-body-secondary mt-2 mb-0",
                        ),
                        dbc.ButtonGroup(
                            [
                                dbc.Button(_("Approve and provision"), id=ids.RQA_APPROVE, color="success"),
                                dbc.Button(_("Reject"), id=ids.RQA_REJECT, color="danger", outline=True),
                            ],
                            className="mt-2",
                        ),
                        html.Div(id=ids.RQA_OUT, className="mt-2", role="status"),
                    ]
                ),
                className="mt-3",
            ),
            html.H2(_("Messages"), className="h6 mt-4"),
            html.Div(id=ids.RQA_OUTBOX),
        ]
    )
