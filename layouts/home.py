"""Public home: national headline figures, a map of provinces or districts, and district search."""

from __future__ import annotations

import dash
import dash_bootstrap_components as dbc
from dash import dcc, html

from dashboard import place_names
from dashboard.i18n import N_, _, page_title
from data import geography
from layouts import components, ids

dash.register_page(__name__, path="/", title=page_title(N_("NSER Insight")), tier="public", name="Home")

MAP_MEASURES = {
    "share_at_or_below_cutoff": N_("Households at or below the PMT cut-off (%)"),
    "share_beneficiary": N_("Households with a Kafaalat beneficiary (%)"),
    "households": N_("Registered households"),
}


def district_options() -> list[dict]:
    d = geography.districts()
    return [
        {
            "label": f"{place_names.text(r.district_code, r.district)} — {place_names.text(r.province_code, r.province)}",
            "value": r.district_code,
            # typed in either script: the English name stays searchable on an Urdu page
            "search": f"{r.district} {r.province}",
        }
        for r in d.sort_values("district").itertuples()
    ]


def layout(**_ignored) -> html.Div:
    return html.Div(
        [
            html.H1(_("National Socio-Economic Registry"), className="h3 mb-1"),
            html.P(
                _(
                    "Who the registry covers, where poverty is concentrated, and who receives Benazir Kafaalat "
                    "and Taleemi Wazaif — by province and district."
                ),
                className="text-body-secondary",
            ),
            html.Div(id=ids.HOME_PROVENANCE),
            components.loading(dbc.Row(id=ids.HOME_CARDS, className="g-2")),
            dbc.Row(
                [
                    dbc.Col(
                        components.section(
                            _("Map"),
                            [
                                dbc.Row(
                                    [
                                        dbc.Col(
                                            html.Fieldset(
                                                [
                                                    html.Legend(_("Map level"), className="visually-hidden"),
                                                    dbc.RadioItems(
                                                        id=ids.HOME_MAP_LEVEL,
                                                        value="district",
                                                        inline=True,
                                                        options=[
                                                            {"label": _("Districts"), "value": "district"},
                                                            {"label": _("Provinces"), "value": "province"},
                                                        ],
                                                    ),
                                                ]
                                            ),
                                            xs=12,
                                            md=5,
                                        ),
                                        dbc.Col(
                                            [
                                                dbc.Label(
                                                    _("What the map shows"),
                                                    html_for=ids.HOME_MAP_MEASURE,
                                                    className="visually-hidden",
                                                ),
                                                dbc.Select(
                                                    id=ids.HOME_MAP_MEASURE,
                                                    value="share_at_or_below_cutoff",
                                                    options=[
                                                        {"label": _(v), "value": k}
                                                        for k, v in MAP_MEASURES.items()
                                                    ],
                                                ),
                                            ],
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
                                    _("Click a district to open its dashboard.")
                                    + " "
                                    + _(components.OSM_CREDIT),
                                    className="text-body-secondary",
                                ),
                            ],
                        ),
                        lg=8,
                    ),
                    dbc.Col(
                        components.section(
                            _("Find a district"),
                            [
                                dbc.Label(
                                    _("District"), html_for=ids.HOME_SEARCH, className="visually-hidden"
                                ),
                                dcc.Dropdown(
                                    id=ids.HOME_SEARCH,
                                    options=district_options(),
                                    placeholder=_("Type a district name…"),
                                    searchable=True,
                                    clearable=True,
                                ),
                                html.P(
                                    _(
                                        "Each district has its own dashboard with poverty, programme, education, "
                                        "disability and housing figures."
                                    ),
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
