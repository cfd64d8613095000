"""Record search at /records (plan §8.2.2): CNIC, address + parameters, PMT range + address. What comes
back depends on the user's record-access role and is decided in the gateway, not here."""

from __future__ import annotations

import dash
import dash_ag_grid as dag
import dash_bootstrap_components as dbc
from dash import dcc, html

from dashboard import place_names
from dashboard.i18n import N_, _, page_title
from data import geography
from layouts import ids
from layouts.components import grid_options
from layouts.data_request import dropdown_labels, typed

dash.register_page(
    __name__, path="/records", title=page_title(N_("Records — NSER Insight")), tier="business", name="Records"
)

FILTER_FIELDS = {
    "disability": N_("Disability"),
    "employment_status": N_("Employment"),
    "dwelling_structure": N_("Dwelling"),
    "toilet": N_("Toilet"),
    "pmt_band": N_("PMT band"),
    "urban_rural": N_("Urban / rural"),
    "is_beneficiary_household": N_("Beneficiary household"),
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
                {"label": f"{_(label)}: {_('yes')}", "value": f"{name}:true"},
                {"label": f"{_(label)}: {_('no')}", "value": f"{name}:false"},
            ]
        else:
            codes = cat.codelists[column.codes].codes
            out += [
                {"label": f"{_(label)}: {_(text)}", "value": f"{name}:{code}"} for code, text in codes.items()
            ]
    return out


def district_options() -> list[dict]:
    """Districts with their province, in the reader's language; on an Urdu page the English names stay
    searchable too (typed in either script)."""
    out = []
    for r in geography.districts().itertuples():
        district = place_names.text(r.district_code, r.district)
        province = place_names.text(r.province_code, r.province)
        option = {"label": f"{district} ({province})", "value": r.district_code}
        if (district, province) != (r.district, r.province):
            option["search"] = f"{district} {province} {r.district} {r.province}"
        out.append(option)
    return out


def tehsil_options() -> list[dict]:
    """Tehsils with their code, named like the districts."""
    out = []
    for r in geography.tehsils().itertuples():
        name = place_names.text(r.tehsil_code, r.tehsil_name)
        option = {"label": f"{name} ({r.tehsil_code})", "value": r.tehsil_code}
        if name != r.tehsil_name:
            option["search"] = f"{name} {r.tehsil_name} {r.tehsil_code}"
        out.append(option)
    return out


def layout(**_ignored) -> html.Div:
    cnic = dbc.Row(
        [
            dbc.Col(
                dbc.Input(
                    id=ids.RC_CNIC, placeholder=_("CNIC, e.g. 35202-1234567-1"), maxLength=15, **typed()
                ),
                md=6,
            ),
            dbc.Col(dbc.Button(_("Search"), id=ids.RC_GO_CNIC, color="primary"), width="auto"),
        ],
        className="g-2 mt-2",
    )
    address = html.Div(
        [
            dbc.Row(
                [
                    dbc.Col(
                        dcc.Dropdown(
                            id=ids.RC_DISTRICT,
                            options=district_options(),
                            placeholder=_("District"),
                            labels=dropdown_labels(),
                        ),
                        md=4,
                    ),
                    dbc.Col(
                        dcc.Dropdown(
                            id=ids.RC_TEHSIL, placeholder=_("Tehsil (optional)"), labels=dropdown_labels()
                        ),
                        md=4,
                    ),
                    dbc.Col(
                        dbc.Input(id=ids.RC_UC, placeholder=_("Union council code (optional)"), **typed()),
                        md=4,
                    ),
                ],
                className="g-2 mt-2",
            ),
            dcc.Dropdown(
                id=ids.RC_FILTERS,
                options=filter_options(),
                multi=True,
                placeholder=_("Parameters"),
                className="mt-2",
                labels=dropdown_labels(),
            ),
            dbc.Button(_("Search"), id=ids.RC_GO_ADDRESS, color="primary", className="mt-2"),
        ]
    )
    pmt = dbc.Row(
        [
            dbc.Col(
                dcc.Dropdown(
                    id=ids.RC_PMT_TEHSIL,
                    options=tehsil_options(),
                    placeholder=_("Tehsil"),
                    labels=dropdown_labels(),
                ),
                md=4,
            ),
            dbc.Col(
                dbc.Input(id=ids.RC_PMT_UC, placeholder=_("Union council code (optional)"), **typed()), md=3
            ),
            dbc.Col(dbc.Input(id=ids.RC_PMT_MIN, type="number", value=0, min=0, max=100, step=0.01), md=2),
            dbc.Col(
                dbc.Input(id=ids.RC_PMT_MAX, type="number", value=16.17, min=0, max=100, step=0.01), md=2
            ),
            dbc.Col(dbc.Button(_("Search"), id=ids.RC_GO_PMT, color="primary"), width="auto"),
        ],
        className="g-2 mt-2",
    )
    return html.Div(
        [
            html.H1(_("Record search"), className="h3"),
            html.P(
                _(
                    "What you see depends on your record-access role (Power, Standard or Basic). Every search is "
                    "logged with your address, name, the parameters and the rows returned, and is metered per row."
                ),
                className="small text-body-secondary",
            ),
            dbc.Tabs(
                [
                    dbc.Tab(cnic, label=_("CNIC"), tab_id="cnic"),
                    dbc.Tab(address, label=_("Address + parameters"), tab_id="address"),
                    dbc.Tab(pmt, label=_("PMT range + address"), tab_id="pmt_range"),
                ],
                id=ids.RC_TABS,
                active_tab="cnic",
            ),
            dcc.Store(id=ids.RC_SEARCH),
            html.Div(id=ids.RC_STATUS, className="mt-3", role="status"),
            dbc.ButtonGroup(
                [
                    dbc.Button(_("Previous"), id=ids.RC_PREV, size="sm", outline=True, color="secondary"),
                    dbc.Button(_("Next"), id=ids.RC_NEXT, size="sm", outline=True, color="secondary"),
                    dbc.Button(_("Export CSV"), id=ids.RC_EXPORT, size="sm", outline=True, color="primary"),
                ],
                className="my-2",
            ),
            dag.AgGrid(
                id=ids.RC_GRID,
                columnDefs=[],
                rowData=[],
                className="ag-theme-alpine",
                dashGridOptions=grid_options(
                    domLayout="autoHeight",
                    rowSelection={"mode": "singleRow", "enableClickSelection": True, "checkboxes": False},
                ),
                columnSize="autoSize",
            ),
            html.Div(id=ids.RC_DETAIL, className="mt-3"),
            dcc.Store(id=ids.RC_MEMBERS),
            dcc.Download(id=ids.RC_DOWNLOAD),
        ]
    )
