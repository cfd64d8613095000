"""Public catalogue of published reports at /reports: search by words, filter by topic."""

from __future__ import annotations

import dash
import dash_bootstrap_components as dbc
from dash import dcc, html

from dashboard.i18n import N_, _, page_title
from layouts import ids

dash.register_page(
    __name__, path="/reports", title=page_title(N_("Reports — NSER Insight")), tier="public", name="Reports"
)


def layout(**_ignored) -> html.Div:
    return html.Div(
        [
            html.H1(_("Published reports"), className="h3"),
            html.P(
                _(
                    "Statistical reports approved by the Director General NSER. Each shows its version, who "
                    "approved it and the date of the registry it describes."
                ),
                className="text-body-secondary",
            ),
            dbc.Row(
                [
                    dbc.Col(
                        dbc.Input(
                            id=ids.RP_SEARCH, type="search", placeholder=_("Search reports"), debounce=True
                        ),
                        md=6,
                    ),
                    dbc.Col(dcc.Dropdown(id=ids.RP_TOPIC, placeholder=_("All topics"), clearable=True), md=3),
                    dbc.Col(
                        dcc.Dropdown(id=ids.RP_GEO, placeholder=_("Any geography"), clearable=True), md=3
                    ),
                ],
                className="g-2 mb-3",
            ),
            html.Div(id=ids.RP_LIST),
        ]
    )
