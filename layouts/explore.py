"""Explorer for business users and the MIS team: pick a cube, measures, dimensions and areas.

The whole state lives in the URL (shareable, bookmarkable; the back button works).
"""

from __future__ import annotations

import dash
import dash_ag_grid as dag
import dash_bootstrap_components as dbc
from dash import dcc, html

from cubes.model import load_model
from data import geography
from layouts import components, ids

dash.register_page(
    __name__, path="/explore", title="Explorer — NSER Insight", tier="business", name="Explorer"
)

CHARTS = {
    "table": "Table only",
    "bar": "Bars",
    "stacked": "Stacked bars",
    "pyramid": "Population pyramid",
    "map": "Map",
}
QUICK = {
    "Beneficiaries by tehsil": "cube=beneficiaries&m=beneficiaries&level=tehsil&chart=bar",
    "Households by PMT band and district": "cube=households&m=households&d=pmt_band&level=district&chart=stacked",
    "Population pyramid by province": "cube=persons&m=persons&d=gender,age_group&level=province&chart=pyramid",
    "Share at or below the cut-off, map": "cube=households&m=share_at_or_below_cutoff&level=district&chart=map",
}


def cube_options() -> list[dict]:
    return [{"label": c.title, "value": c.name} for c in load_model().cubes.values()]


def province_options() -> list[dict]:
    p = geography.provinces()
    return [{"label": r.province, "value": r.province_code} for r in p.sort_values("province").itertuples()]


def layout(mis: bool = False, **_ignored) -> html.Div:
    levels = ["national", "province", "division", "district", "tehsil"] + (["union_council"] if mis else [])
    return html.Div(
        [
            # refresh=False: the explorer callback that writes the URL also draws the page, so a change
            # is a history entry, not a page reload (the default reloaded the page on every change)
            dcc.Location(id=ids.EX_URL, refresh=False),
            html.Div(
                [
                    html.H1("Explorer", className="h3 mb-0 me-3"),
                    html.Span("Quick start:", className="small text-body-secondary me-2"),
                    # buttons, not links: a link to /explore?… would re-render the whole page, and a choice
                    # made while that re-render was on its way was lost; the explorer callback sets the state
                    *[
                        html.Button(
                            name,
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
                            dbc.Label("Statistics", html_for=ids.EX_CUBE, className="small fw-semibold"),
                            dcc.Dropdown(
                                id=ids.EX_CUBE, options=cube_options(), value="households", clearable=False
                            ),
                            dbc.Label(
                                "Measures", html_for=ids.EX_MEASURES, className="small fw-semibold mt-2"
                            ),
                            dcc.Dropdown(id=ids.EX_MEASURES, multi=True),
                            dbc.Label(
                                "Break down by", html_for=ids.EX_DIMS, className="small fw-semibold mt-2"
                            ),
                            dcc.Dropdown(id=ids.EX_DIMS, multi=True, placeholder="no breakdown"),
                            dbc.Label(
                                "Across the columns",
                                html_for=ids.EX_ACROSS,
                                className="small fw-semibold mt-2",
                            ),
                            dcc.Dropdown(
                                id=ids.EX_ACROSS, clearable=False, placeholder="choose a breakdown first"
                            ),
                            dbc.Label(
                                "Filter categories",
                                html_for=ids.EX_FILTERS,
                                className="small fw-semibold mt-2",
                            ),
                            dcc.Dropdown(id=ids.EX_FILTERS, multi=True, placeholder="all categories"),
                            dbc.Label("Geography", className="small fw-semibold mt-2"),
                            dbc.RadioItems(
                                id=ids.EX_LEVEL,
                                options=[
                                    {"label": lv.replace("_", " ").capitalize(), "value": lv} for lv in levels
                                ],
                                value="province",
                                inline=True,
                                className="small",
                            ),
                            dcc.Dropdown(
                                id=ids.EX_PROVINCE,
                                options=province_options(),
                                placeholder="All provinces",
                                className="mt-1",
                            ),
                            dcc.Dropdown(id=ids.EX_DISTRICT, placeholder="All districts", className="mt-1"),
                            dcc.Dropdown(id=ids.EX_TEHSIL, placeholder="All tehsils", className="mt-1"),
                            dbc.Label("Chart", className="small fw-semibold mt-2"),
                            dbc.RadioItems(
                                id=ids.EX_CHART,
                                options=[{"label": v, "value": k} for k, v in CHARTS.items()],
                                value="bar",
                                className="small",
                            ),
                            dbc.Checklist(
                                id=ids.EX_TOTALS,
                                options=[{"label": "Show totals", "value": "totals"}],
                                value=[],
                                switch=True,
                                className="small mt-2",
                            ),
                            html.Hr(),
                            dbc.InputGroup(
                                [
                                    dbc.Input(id=ids.EX_VIEW_NAME, placeholder="Name this view", size="sm"),
                                    dbc.Button("Save", id=ids.EX_SAVE_VIEW, size="sm", color="secondary"),
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
                                        [html.I(className="bi bi-filetype-csv me-1"), "Export CSV"],
                                        id=ids.EX_EXPORT_CSV,
                                        size="sm",
                                        color="outline-primary",
                                        className="me-2",
                                    ),
                                    dbc.Button(
                                        [
                                            html.I(className="bi bi-file-earmark-spreadsheet me-1"),
                                            "Export XLSX",
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
                                dashGridOptions={
                                    "domLayout": "autoHeight",
                                    "pagination": True,
                                    "paginationPageSize": 50,
                                },
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
