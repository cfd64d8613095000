"""Explorer for business users and the MIS team: pick a cube, measures, dimensions and areas.

The whole state lives in the URL (shareable, bookmarkable; the back button works).
"""

from __future__ import annotations

import dash
import dash_ag_grid as dag
import dash_bootstrap_components as dbc
from dash import dcc, html

from cubes.model import load_model
from dashboard import place_names
from dashboard.i18n import N_, _, page_title
from data import geography
from layouts import components, ids
from layouts.components import grid_options
from layouts.data_request import dropdown_labels

dash.register_page(
    __name__,
    path="/explore",
    title=page_title(N_("Explorer — NSER Insight")),
    tier="business",
    name="Explorer",
)

CHARTS = {
    "table": N_("Table only"),
    "bar": N_("Bars"),
    "stacked": N_("Stacked bars"),
    "pyramid": N_("Population pyramid"),
    "map": N_("Map"),
}
LEVELS = {
    "national": N_("National"),
    "province": N_("Province"),
    "division": N_("Division"),
    "district": N_("District"),
    "tehsil": N_("Tehsil"),
    "union_council": N_("Union council"),
}
# the names stay English in the buttons' ids (and so in the callback); the buttons show them translated
QUICK = {
    N_("Beneficiaries by tehsil"): "cube=beneficiaries&m=beneficiaries&level=tehsil&chart=bar",
    N_("Households by PMT band and district"): (
        "cube=households&m=households&d=pmt_band&level=district&chart=stacked"
    ),
    N_("Population pyramid by province"): (
        "cube=persons&m=persons&d=gender,age_group&level=province&chart=pyramid"
    ),
    N_("Share at or below the cut-off, map"): (
        "cube=households&m=share_at_or_below_cutoff&level=district&chart=map"
    ),
}


def cube_options() -> list[dict]:
    return [{"label": _(c.title), "value": c.name} for c in load_model().cubes.values()]


def area_options(frame, code: str, name: str) -> list[dict]:
    """Areas as options in the reader's language (Urdu names where they exist), in the order of their names."""
    options = [
        {"label": place_names.text(c, n), "value": c} for c, n in zip(frame[code], frame[name], strict=True)
    ]
    return sorted(options, key=lambda o: o["label"])


def province_options() -> list[dict]:
    return area_options(geography.provinces(), "province_code", "province")


def layout(mis: bool = False, **_ignored) -> html.Div:
    levels = ["national", "province", "division", "district", "tehsil"] + (["union_council"] if mis else [])
    return html.Div(
        [
            # refresh=False: the explorer callback that writes the URL also draws the page, so a change
            # is a history entry, not a page reload (the default reloaded the page on every change)
            dcc.Location(id=ids.EX_URL, refresh=False),
            html.Div(
                [
                    html.H1(_("Explorer"), className="h3 mb-0 me-3"),
                    html.Span(_("Quick start:"), className="small text-body-secondary me-2"),
                    # buttons, not links: a link to /explore?… would re-render the whole page, and a choice
                    # made while that re-render was on its way was lost; the explorer callback sets the state
                    *[
                        html.Button(
                            _(name),
                            type="button",
                            className="btn btn-sm btn-outline-primary me-2 mb-1",
                            id={"type": ids.EX_QUICK, "name": name},
                        )
                        for name in QUICK
                    ],
                ],
                className="d-flex flex-wrap align-items-center mb-2",
            ),
            dbc.Row(
                [
                    dbc.Col(
                        [
                            dbc.Label(_("Statistics"), html_for=ids.EX_CUBE, className="small fw-semibold"),
                            dcc.Dropdown(
                                id=ids.EX_CUBE,
                                options=cube_options(),
                                value="households",
                                clearable=False,
                                labels=dropdown_labels(),
                            ),
                            dbc.Label(
                                _("Measures"), html_for=ids.EX_MEASURES, className="small fw-semibold mt-2"
                            ),
                            dcc.Dropdown(id=ids.EX_MEASURES, multi=True, labels=dropdown_labels()),
                            dbc.Label(
                                _("Break down by"), html_for=ids.EX_DIMS, className="small fw-semibold mt-2"
                            ),
                            dcc.Dropdown(
                                id=ids.EX_DIMS,
                                multi=True,
                                placeholder=_("no breakdown"),
                                labels=dropdown_labels(),
                            ),
                            dbc.Label(
                                _("Across the columns"),
                                html_for=ids.EX_ACROSS,
                                className="small fw-semibold mt-2",
                            ),
                            dcc.Dropdown(
                                id=ids.EX_ACROSS,
                                clearable=False,
                                placeholder=_("choose a breakdown first"),
                                labels=dropdown_labels(),
                            ),
                            dbc.Label(
                                _("Filter categories"),
                                html_for=ids.EX_FILTERS,
                                className="small fw-semibold mt-2",
                            ),
                            dcc.Dropdown(
                                id=ids.EX_FILTERS,
                                multi=True,
                                placeholder=_("all categories"),
                                labels=dropdown_labels(),
                            ),
                            dbc.Label(_("Geography"), className="small fw-semibold mt-2"),
                            dbc.RadioItems(
                                id=ids.EX_LEVEL,
                                options=[{"label": _(LEVELS[lv]), "value": lv} for lv in levels],
                                value="province",
                                inline=True,
                                className="small",
                            ),
                            dcc.Dropdown(
                                id=ids.EX_PROVINCE,
                                options=province_options(),
                                placeholder=_("All provinces"),
                                className="mt-1",
                                labels=dropdown_labels(),
                            ),
                            dcc.Dropdown(
                                id=ids.EX_DISTRICT,
                                placeholder=_("All districts"),
                                className="mt-1",
                                labels=dropdown_labels(),
                            ),
                            dcc.Dropdown(
                                id=ids.EX_TEHSIL,
                                placeholder=_("All tehsils"),
                                className="mt-1",
                                labels=dropdown_labels(),
                            ),
                            dbc.Label(_("Chart"), className="small fw-semibold mt-2"),
                            dbc.RadioItems(
                                id=ids.EX_CHART,
                                options=[{"label": _(v), "value": k} for k, v in CHARTS.items()],
                                value="bar",
                                className="small",
                            ),
                            dbc.Checklist(
                                id=ids.EX_TOTALS,
                                options=[{"label": _("Show totals"), "value": "totals"}],
                                value=[],
                                switch=True,
                                className="small mt-2",
                            ),
                            html.Hr(),
                            dbc.InputGroup(
                                [
                                    dbc.Input(
                                        id=ids.EX_VIEW_NAME, placeholder=_("Name this view"), size="sm"
                                    ),
                                    dbc.Button(_("Save"), id=ids.EX_SAVE_VIEW, size="sm", color="secondary"),
                                ],
                                size="sm",
                            ),
                            html.Div(id=ids.EX_SAVED, className="small mt-2"),
                        ],
                        lg=3,
                        className="mb-3",
                    ),
                    dbc.Col(
                        [
                            html.Div(id=ids.EX_PROVENANCE),
                            html.Div(id=ids.EX_MESSAGE),
                            components.loading(dcc.Graph(id=ids.EX_GRAPH, config={"displayModeBar": False})),
                            html.Div(
                                [
                                    dbc.Button(
                                        [html.I(className="bi bi-filetype-csv me-1"), _("Export CSV")],
                                        id=ids.EX_EXPORT_CSV,
                                        size="sm",
                                        color="outline-primary",
                                        className="me-2",
                                    ),
                                    dbc.Button(
                                        [
                                            html.I(className="bi bi-file-earmark-spreadsheet me-1"),
                                            _("Export XLSX"),
                                        ],
                                        id=ids.EX_EXPORT_XLSX,
                                        size="sm",
                                        color="outline-primary",
                                        className="me-2",
                                    ),
                                    dbc.Progress(
                                        id=ids.EX_PROGRESS,
                                        value=0,
                                        striped=True,
                                        animated=True,
                                        style={"width": "12rem", "height": "0.6rem", "visibility": "hidden"},
                                    ),
                                ],
                                className="d-flex align-items-center my-2",
                            ),
                            dag.AgGrid(
                                id=ids.EX_TABLE,
                                columnDefs=[],
                                rowData=[],
                                className="ag-theme-alpine",
                                dashGridOptions=grid_options(
                                    domLayout="autoHeight", pagination=True, paginationPageSize=50
                                ),
                                style={"width": "100%"},
                                columnSize="responsiveSizeToFit",
                            ),
                            dcc.Store(id="ex-export-token"),
                            dcc.Download(id=ids.EX_DOWNLOAD),
                        ],
                        lg=9,
                    ),
                ]
            ),
        ]
    )
