"""MIS administration: users and organisations, the access log, metering statements."""

from __future__ import annotations

import datetime as dt

import dash
import dash_ag_grid as dag
import dash_bootstrap_components as dbc
from dash import dcc, html

from dashboard.i18n import N_, _, page_title
from layouts import ids
from layouts.components import grid_options
from layouts.data_request import dropdown_labels, typed

dash.register_page(
    __name__, path="/admin", title=page_title(N_("Admin — NSER Insight")), tier="mis", name="Admin"
)


def layout(**_ignored) -> html.Div:
    month = dt.date.today().strftime("%Y-%m")
    return html.Div(
        [
            html.H1(_("Administration"), className="h3"),
            dbc.Tabs(
                [
                    dbc.Tab(
                        label=_("Users"),
                        tab_id="users",
                        children=[
                            dag.AgGrid(
                                id=ids.AD_USERS,
                                columnDefs=[],
                                rowData=[],
                                className="ag-theme-alpine my-2",
                                dashGridOptions=grid_options(domLayout="autoHeight"),
                                columnSize="responsiveSizeToFit",
                            ),
                            dbc.Card(
                                dbc.CardBody(
                                    [
                                        html.H2(_("Add a user"), className="h6"),
                                        dbc.Row(
                                            [
                                                dbc.Col(
                                                    dbc.Input(
                                                        id="ad-username", placeholder=_("username"), **typed()
                                                    ),
                                                    md=3,
                                                ),
                                                dbc.Col(
                                                    dbc.Input(
                                                        id="ad-fullname",
                                                        placeholder=_("full name"),
                                                        **typed(),
                                                    ),
                                                    md=3,
                                                ),
                                                dbc.Col(
                                                    dcc.Dropdown(
                                                        id="ad-org",
                                                        placeholder=_("organisation"),
                                                        labels=dropdown_labels(),
                                                    ),
                                                    md=3,
                                                ),
                                                dbc.Col(
                                                    # tier and record-role codes, as the users table shows them
                                                    dbc.Select(
                                                        id="ad-tier",
                                                        options=[
                                                            {"label": _("business"), "value": "business"},
                                                            {"label": _("MIS"), "value": "mis"},
                                                        ],
                                                        value="business",
                                                    ),
                                                    md=1,
                                                ),
                                                dbc.Col(
                                                    dbc.Select(
                                                        id="ad-role",
                                                        options=[
                                                            {"label": _(r), "value": r}
                                                            for r in (
                                                                N_("none"),
                                                                N_("basic"),
                                                                N_("standard"),
                                                                N_("power"),
                                                            )
                                                        ],
                                                        value="none",
                                                    ),
                                                    md=2,
                                                ),
                                            ],
                                            className="g-2",
                                        ),
                                        dbc.Row(
                                            [
                                                dbc.Col(
                                                    dbc.Input(
                                                        id="ad-scope",
                                                        placeholder=_("scope (geo code, optional)"),
                                                        **typed(),
                                                    ),
                                                    md=3,
                                                ),
                                                dbc.Col(
                                                    dbc.Input(
                                                        id="ad-password",
                                                        type="password",
                                                        placeholder=_("initial password (12+)"),
                                                    ),
                                                    md=3,
                                                ),
                                                dbc.Col(
                                                    dbc.Button(
                                                        _("Add user"), id=ids.AD_NEW_USER, color="primary"
                                                    ),
                                                    md=2,
                                                ),
                                            ],
                                            className="g-2 mt-1",
                                        ),
                                        html.Div(id=ids.AD_NEW_USER_OUT, className="mt-2"),
                                    ]
                                ),
                                className="mb-3",
                            ),
                        ],
                    ),
                    dbc.Tab(
                        label=_("Access log"),
                        tab_id="audit",
                        children=[
                            dbc.Button(
                                _("Verify the chain"),
                                id=ids.AD_VERIFY,
                                color="secondary",
                                size="sm",
                                className="my-2",
                            ),
                            html.Div(id=ids.AD_VERIFY_OUT),
                            dag.AgGrid(
                                id=ids.AD_AUDIT,
                                columnDefs=[],
                                rowData=[],
                                className="ag-theme-alpine",
                                dashGridOptions=grid_options(
                                    pagination=True, paginationPageSize=25, domLayout="autoHeight"
                                ),
                                columnSize="responsiveSizeToFit",
                            ),
                        ],
                    ),
                    dbc.Tab(
                        label=_("Metering"),
                        tab_id="metering",
                        children=[
                            dbc.Row(
                                [
                                    dbc.Col(
                                        dcc.Dropdown(
                                            id=ids.AD_STATEMENT_ORG,
                                            placeholder=_("organisation"),
                                            labels=dropdown_labels(),
                                        ),
                                        md=5,
                                    ),
                                    dbc.Col(
                                        dbc.Input(
                                            id=ids.AD_STATEMENT_MONTH,
                                            value=month,
                                            placeholder=_("YYYY-MM"),
                                            **typed(),
                                        ),
                                        md=2,
                                    ),
                                ],
                                className="g-2 my-2",
                            ),
                            html.Div(id=ids.AD_STATEMENT),
                        ],
                    ),
                    dbc.Tab(
                        label=_("Partner feedback"),
                        tab_id="feedback",
                        children=[
                            html.P(
                                _(
                                    "Records partners posted back through the API, staged here; never part of a "
                                    "warehouse snapshot until the integration work takes them in."
                                ),
                                className="small text-body-secondary my-2",
                            ),
                            dag.AgGrid(
                                id=ids.AD_FEEDBACK,
                                columnDefs=[],
                                rowData=[],
                                className="ag-theme-alpine",
                                dashGridOptions=grid_options(domLayout="autoHeight", pagination=True),
                                columnSize="responsiveSizeToFit",
                            ),
                        ],
                    ),
                    dbc.Tab(
                        label=_("Place names"),
                        tab_id="names",
                        children=[
                            html.P(
                                _(
                                    "Urdu names of provinces, divisions, districts and tehsils. A correction is kept "
                                    "with who, when and why, and shown on Urdu pages within half a minute."
                                ),
                                className="small text-body-secondary my-2",
                            ),
                            dbc.Row(
                                [
                                    dbc.Col(
                                        dbc.Input(
                                            id=ids.AD_NAME_CODE, placeholder=_("code, e.g. PK601"), **typed()
                                        ),
                                        md=2,
                                    ),
                                    dbc.Col(
                                        dbc.Input(
                                            id=ids.AD_NAME_UR,
                                            placeholder=_("Urdu name"),
                                            className="text-end",
                                        ),
                                        md=3,
                                    ),
                                    dbc.Col(
                                        dbc.Input(
                                            id=ids.AD_NAME_REASON,
                                            placeholder=_("source or reason"),
                                            **typed(),
                                        ),
                                        md=5,
                                    ),
                                    dbc.Col(
                                        dbc.Button(_("Save"), id=ids.AD_NAME_SAVE, color="primary"), md=2
                                    ),
                                ],
                                className="g-2",
                            ),
                            html.Div(id=ids.AD_NAMES, className="mt-2"),
                        ],
                    ),
                ],
                active_tab="users",
            ),
        ]
    )
