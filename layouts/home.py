"""Public home: national headline figures, a map of provinces or districts, and district search."""

from __future__ import annotations

import dash
import dash_bootstrap_components as dbc
from dash import dcc, html

from data import geography
from layouts import components, ids

dash.register_page(__name__, path="/", title="NSER Insight", tier="public", name="Home")

MAP_MEASURES = {
    "share_at_or_below_cutoff": "Households at or below the PMT cut-off (%)",
    "share_beneficiary": "Households with a Kafaalat beneficiary (%)",
    "households": "Registered households",
}


def district_options() -> list[dict]:
    d = geography.districts()
    return [
        {"label": f"{r.district} — {r.province}", "value": r.district_code}
        for r in d.sort_values("district").itertuples()
    ]


def layout(**_) -> html.Div:
    return html.Div(
        [
            html.H1("National Socio-Economic Registry", className="h3 mb-1"),
            html.P(
                "Who the registry covers, where poverty is concentrated, and who receives Benazir Kafaalat and "
                "Taleemi Wazaif — by province and district.",
                className="text-body-secondary",
            ),
            html.Div(id=ids.HOME_PROVENANCE),
            components.loading(dbc.Row(id=ids.HOME_CARDS, className="g-2")),
            dbc.Row(
                [
                    dbc.Col(
                        components.section(
                            "Map",
                            [
                                dbc.Row(
                                    [
                                        dbc.Col(
                                            dbc.RadioItems(
                                                id=ids.HOME_MAP_LEVEL,
                                                value="district",
                                                inline=True,
                                                options=[
                                                    {"label": "Districts", "value": "district"},
                                                    {"label": "Provinces", "value": "province"},
                                                ],
                                            ),
                                            xs=12,
                                            md=5,
                                        ),
                                        dbc.Col(
                                            dbc.Select(
                                                id=ids.HOME_MAP_MEASURE,
                                                value="share_at_or_below_cutoff",
                                                options=[
                                                    {"label": v, "value": k} for k, v in MAP_MEASURES.items()
                                                ],
                                            ),
                                            xs=12,
                                            md=7,
                                        ),
                                    ],
                                    className="mb-2 g-2",
                                ),
                                components.loading(
                                    dcc.Graph(
                                        id=ids.HOME_MAP,
                                        config={"displayModeBar": False, "scrollZoom": False},
                                        style={"height": "480px"},
                                    )
                                ),
                                html.Small(
                                    "Click a district to open its dashboard. " + components.OSM_CREDIT,
                                    className="text-body-secondary",
                                ),
                            ],
                        ),
                        lg=8,
                    ),
                    dbc.Col(
                        components.section(
                            "Find a district",
                            [
                                dcc.Dropdown(
                                    id=ids.HOME_SEARCH,
                                    options=district_options(),
                                    placeholder="Type a district name…",
                                    searchable=True,
                                    clearable=True,
                                ),
                                html.P(
                                    "Each district has its own dashboard with poverty, programme, education, disability and "
                                    "housing figures.",
                                    className="small text-body-secondary mt-2",
                                ),
                            ],
                        ),
                        lg=4,
                    ),
                ]
            ),
            dcc.Location(id=ids.HOME_NAV, refresh=True),
        ]
    )
