"""Public district dashboard at /district/<district_code>: a stable, shareable URL per district."""

from __future__ import annotations

import dash
import dash_bootstrap_components as dbc
from dash import dcc, html

from data import geography
from layouts import components, ids

dash.register_page(
    __name__,
    path_template="/district/<district_code>",
    title="District — NSER Insight",
    tier="public",
    name="District",
)

SECTIONS = {
    "pmt": "Households by PMT band",
    "beneficiaries": "Kafaalat beneficiaries by age",
    "disability": "Persons with disability by domain",
    "education": "Literacy and school enrolment",
    "cct": "Taleemi Wazaif enrolments by quarter",
    "dwelling": "Dwelling and sanitation",
    "assets": "Household assets",
    "tehsils": "Tehsils",
}


def layout(district_code: str = "PK601", **_) -> html.Div:
    d = geography.districts().set_index("district_code")
    if district_code not in d.index:
        return dbc.Alert(
            [
                html.H1("District not found", className="h5"),
                html.P("There is no district with that code. Search for a district on the home page."),
                dcc.Link("Home", href="/"),
            ],
            color="warning",
            className="mt-3",
        )
    row = d.loc[district_code]

    def graph(key: str):
        return components.loading(
            dcc.Graph(id={"type": "district-graph", "section": key}, config={"displayModeBar": False})
        )

    return html.Div(
        [
            dcc.Store(id=ids.DISTRICT_CODE, data=district_code),
            html.Nav(
                html.Ol(
                    [
                        html.Li(dcc.Link("Home", href="/"), className="breadcrumb-item"),
                        html.Li(row.province, className="breadcrumb-item"),
                        html.Li(row.district, className="breadcrumb-item active"),
                    ],
                    className="breadcrumb",
                )
            ),
            html.H1(
                [
                    row.district,
                    html.Small(f" district, {row.province}", className="text-body-secondary fs-6"),
                ],
                className="h3",
            ),
            html.Div(id=ids.DISTRICT_PROVENANCE),
            components.loading(dbc.Row(id=ids.DISTRICT_CARDS, className="g-2")),
            dbc.Row(
                [
                    dbc.Col(components.section(SECTIONS["pmt"], graph("pmt"), download="pmt"), lg=6),
                    dbc.Col(
                        components.section(
                            SECTIONS["beneficiaries"], graph("beneficiaries"), download="beneficiaries"
                        ),
                        lg=6,
                    ),
                    dbc.Col(
                        components.section(SECTIONS["education"], graph("education"), download="education"),
                        lg=6,
                    ),
                    dbc.Col(
                        components.section(
                            SECTIONS["disability"], graph("disability"), download="disability"
                        ),
                        lg=6,
                    ),
                    dbc.Col(components.section(SECTIONS["cct"], graph("cct"), download="cct"), lg=6),
                    dbc.Col(
                        components.section(SECTIONS["dwelling"], graph("dwelling"), download="dwelling"), lg=6
                    ),
                    dbc.Col(components.section(SECTIONS["assets"], graph("assets"), download="assets"), lg=6),
                    dbc.Col(
                        components.section(
                            SECTIONS["tehsils"],
                            components.loading(html.Div(id="district-tehsils")),
                            download="tehsils",
                        ),
                        lg=6,
                    ),
                ]
            ),
            dcc.Download(id=ids.DISTRICT_DOWNLOAD),
        ]
    )
