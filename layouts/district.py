"""Public district dashboard at /district/<district_code>: a stable, shareable URL per district."""

from __future__ import annotations

import string

import dash
import dash_bootstrap_components as dbc
from dash import dcc, html

from dashboard import place_names
from dashboard.i18n import N_, _, page_title
from data import geography
from layouts import components, ids

dash.register_page(
    __name__,
    path_template="/district/<district_code>",
    title=page_title(N_("District — NSER Insight")),
    tier="public",
    name="District",
)

SECTIONS = {
    "pmt": N_("Households by PMT band"),
    "beneficiaries": N_("Kafaalat beneficiaries by age"),
    "disability": N_("Persons with disability by domain"),
    "education": N_("Literacy and school enrolment"),
    "cct": N_("Taleemi Wazaif enrolments by quarter"),
    "dwelling": N_("Dwelling and sanitation"),
    "assets": N_("Household assets"),
    "tehsils": N_("Tehsils"),
}
CHARTS = ("pmt", "beneficiaries", "education", "disability", "cct", "dwelling", "assets")  # in page order


def filled(template: str, **parts) -> list:
    """A translated template whose placeholders are components (a place name may be an English name
    marked as English): the template's text around them, in the template's order."""
    out: list = []
    for text, field, _spec, _conversion in string.Formatter().parse(template):
        if text:
            out.append(text)
        if field is not None:
            out.append(parts[field])
    return out


def layout(district_code: str = "PK601", **_ignored) -> html.Div:
    d = geography.districts().set_index("district_code")
    if district_code not in d.index:
        return dbc.Alert(
            [
                html.H1(_("District not found"), className="h5"),
                html.P(_("There is no district with that code. Search for a district on the home page.")),
                dcc.Link(_("Home"), href="/"),
            ],
            color="warning",
            className="mt-3",
        )
    row = d.loc[district_code]
    district = place_names.component(district_code, row.district)
    province = place_names.component(row.province_code, row.province)

    def graph(key: str):
        return components.loading(
            dcc.Graph(id={"type": "district-graph", "section": key}, config={"displayModeBar": False})
        )

    def section(key: str, body=None):
        return components.section(_(SECTIONS[key]), body or graph(key), download=key)

    return html.Div(
        [
            dcc.Store(id=ids.DISTRICT_CODE, data=district_code),
            html.Nav(
                html.Ol(
                    [
                        html.Li(dcc.Link(_("Home"), href="/"), className="breadcrumb-item"),
                        html.Li(province, className="breadcrumb-item"),
                        html.Li(district, className="breadcrumb-item active"),
                    ],
                    className="breadcrumb",
                )
            ),
            html.H1(
                [
                    district,
                    html.Small(
                        [" ", *filled(_("district, {province}"), province=province)],
                        className="text-body-secondary fs-6",
                    ),
                ],
                className="h3",
            ),
            html.Div(id=ids.DISTRICT_PROVENANCE),
            components.loading(dbc.Row(id=ids.DISTRICT_CARDS, className="g-2")),
            dbc.Row(
                [
                    *[dbc.Col(section(key), lg=6) for key in CHARTS],
                    dbc.Col(section("tehsils", components.loading(html.Div(id="district-tehsils"))), lg=6),
                ]
            ),
            dcc.Download(id=ids.DISTRICT_DOWNLOAD),
        ]
    )
