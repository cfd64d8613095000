"""Record search at /records (plan §8.2.2): CNIC, address + parameters, PMT range + address. What comes
back depends on the user's record-access role and is decided in the gateway, not here."""

from __future__ import annotations

import dash
import dash_ag_grid as dag
import dash_bootstrap_components as dbc
from dash import dcc, html

from data import geography
from layouts import ids

dash.register_page(__name__, path="/records", title="Records — NSER Insight", tier="business", name="Records")

FILTER_FIELDS = {
    "disability": "Disability",
    "employment_status": "Employment",
    "dwelling_structure": "Dwelling",
    "toilet": "Toilet",
    "pmt_band": "PMT band",
    "urban_rural": "Urban / rural",
    "is_beneficiary_household": "Beneficiary household",
}


def filter_options() -> list[dict]:
    from data.catalogue import load_catalogue

    cat = load_catalogue()
    out = []
    for name, label in FILTER_FIELDS.items():
        table = "members" if name in ("disability", "employment_status") else "households"
        column = cat.column(table, name)
        if column.type == "BOOLEAN":
            out += [
                {"label": f"{label}: yes", "value": f"{name}:true"},
                {"label": f"{label}: no", "value": f"{name}:false"},
            ]
        else:
            codes = cat.codelists[column.codes].codes
            out += [{"label": f"{label}: {text}", "value": f"{name}:{code}"} for code, text in codes.items()]
    return out


def layout(**_ignored) -> html.Div:
    districts = geography.districts()
    district_options = [
        {"label": f"{r.district} ({r.province})", "value": r.district_code} for r in districts.itertuples()
    ]
    tehsils = geography.tehsils()
    tehsil_options = [
        {"label": f"{r.tehsil_name} ({r.tehsil_code})", "value": r.tehsil_code} for r in tehsils.itertuples()
    ]
    cnic = dbc.Row(
        [
            dbc.Col(dbc.Input(id=ids.RC_CNIC, placeholder="CNIC, e.g. 35202-1234567-1", maxLength=15), md=6),
            dbc.Col(dbc.Button("Search", id=ids.RC_GO_CNIC, color="primary"), width="auto"),
        ],
        className="g-2 mt-2",
    )
    address = html.Div(
        [
            dbc.Row(
                [
                    dbc.Col(
                        dcc.Dropdown(id=ids.RC_DISTRICT, options=district_options, placeholder="District"),
                        md=4,
                    ),
                    dbc.Col(dcc.Dropdown(id=ids.RC_TEHSIL, placeholder="Tehsil (optional)"), md=4),
                    dbc.Col(dbc.Input(id=ids.RC_UC, placeholder="Union council code (optional)"), md=4),
                ],
                className="g-2 mt-2",
            ),
            dcc.Dropdown(
                id=ids.RC_FILTERS,
                options=filter_options(),
                multi=True,
                placeholder="Parameters",
                className="mt-2",
            ),
            dbc.Button("Search", id=ids.RC_GO_ADDRESS, color="primary", className="mt-2"),
        ]
    )
    pmt = dbc.Row(
        [
            dbc.Col(dcc.Dropdown(id=ids.RC_PMT_TEHSIL, options=tehsil_options, placeholder="Tehsil"), md=4),
            dbc.Col(dbc.Input(id=ids.RC_PMT_UC, placeholder="Union council code (optional)"), md=3),
            dbc.Col(dbc.Input(id=ids.RC_PMT_MIN, type="number", value=0, min=0, max=100, step=0.01), md=2),
            dbc.Col(
                dbc.Input(id=ids.RC_PMT_MAX, type="number", value=16.17, min=0, max=100, step=0.01), md=2
            ),
            dbc.Col(dbc.Button("Search", id=ids.RC_GO_PMT, color="primary"), width="auto"),
        ],
        className="g-2 mt-2",
    )
    return html.Div(
        [
            html.H1("Record search", className="h3"),
            html.P(
                "What you see depends on your record-access role (Power, Standard or Basic). Every search is "
                "logged with your address, name, the parameters and the rows returned, and is metered per row.",
                className="small text-body-secondary",
            ),
            dbc.Tabs(
                [
                    dbc.Tab(cnic, label="CNIC", tab_id="cnic"),
                    dbc.Tab(address, label="Address + parameters", tab_id="address"),
                    dbc.Tab(pmt, label="PMT range + address", tab_id="pmt_range"),
                ],
                id=ids.RC_TABS,
                active_tab="cnic",
            ),
            dcc.Store(id=ids.RC_SEARCH),
            html.Div(id=ids.RC_STATUS, className="mt-3", role="status"),
            dbc.ButtonGroup(
                [
                    dbc.Button("Previous", id=ids.RC_PREV, size="sm", outline=True, color="secondary"),
                    dbc.Button("Next", id=ids.RC_NEXT, size="sm", outline=True, color="secondary"),
                    dbc.Button("Export CSV", id=ids.RC_EXPORT, size="sm", outline=True, color="primary"),
                ],
                className="my-2",
            ),
            dag.AgGrid(
                id=ids.RC_GRID,
                columnDefs=[],
                rowData=[],
                className="ag-theme-alpine",
                dashGridOptions={
                    "domLayout": "autoHeight",
                    "rowSelection": {"mode": "singleRow", "enableClickSelection": True, "checkboxes": False},
                },
                columnSize="autoSize",
            ),
            html.Div(id=ids.RC_DETAIL, className="mt-3"),
            dcc.Store(id=ids.RC_MEMBERS),
            dcc.Download(id=ids.RC_DOWNLOAD),
        ]
    )
