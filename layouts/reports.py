"""Public catalogue of published reports at /reports: search by words, filter by topic."""

from __future__ import annotations

import dash
import dash_bootstrap_components as dbc
from dash import dcc, html

from layouts import ids

dash.register_page(__name__, path="/reports", title="Reports — NSER Insight", tier="public", name="Reports")


def layout(**_) -> html.Div:
    return html.Div(
        [
            html.H1("Published reports", className="h3"),
            html.P(
                "Statistical reports approved by the Director General NSER. Each shows its version, who "
                "approved it and the date of the registry it describes.",
                className="text-body-secondary",
            ),
            dbc.Row(
                [
                    dbc.Col(
                        dbc.Input(
                            id=ids.RP_SEARCH, type="search", placeholder="Search reports", debounce=True
                        ),
                        md=6,
                    ),
                    dbc.Col(dcc.Dropdown(id=ids.RP_TOPIC, placeholder="All topics", clearable=True), md=3),
                    dbc.Col(dcc.Dropdown(id=ids.RP_GEO, placeholder="Any geography", clearable=True), md=3),
                ],
                className="g-2 mb-3",
            ),
            html.Div(id=ids.RP_LIST),
        ]
    )
