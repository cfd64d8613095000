"""Record search callbacks: build the search from the form, ask the gateway as the session's actor, show
what comes back. Masking, limits, scope, logging and metering all happen in the gateway."""

from __future__ import annotations

import io

import dash_bootstrap_components as dbc
import pandas as pd
from dash import Input, Output, State, callback, ctx, dcc, html, no_update

from dashboard import i18n, place_names
from dashboard.i18n import _, translated
from dashboard.oversight import governed_gateway
from dashboard.web import current_actor
from data import geography
from data.catalogue import load_catalogue
from layouts import components, ids


def search_records(search: dict):
    return governed_gateway().search_records(current_actor(), search)


def _label(table: str, column: str) -> str:
    """A column's name as people read it: its catalogue description up to the first bracket."""
    if column == "household":
        return _("Household (pseudonym)")
    try:
        return _(load_catalogue().column(table, column).description.split(" (")[0])
    except KeyError:
        return column


def _value(table: str, column: str, value) -> str:
    """A value as people read it: code labels from the catalogue, yes/no, blanks for missing."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    cat = load_catalogue()
    try:
        codes = cat.column(table, column).codes
    except KeyError:
        return str(value)
    if codes and cat.codelists[codes].codes:
        label = cat.codelists[codes].codes.get(str(value))
        return _(label) if label else str(value)
    return str(value)


def build_search(trigger: str, values: dict) -> dict:
    """The gateway search for the form that was submitted (the gateway validates every part)."""
    if trigger == ids.RC_GO_CNIC:
        return {"type": "cnic", "cnic": values["cnic"] or ""}
    if trigger == ids.RC_GO_ADDRESS:
        area = (values["uc"] or "").strip() or values["tehsil"] or values["district"] or ""
        filters: dict[str, list] = {}
        for item in values["filters"] or []:
            name, _sep, code = item.partition(":")
            filters.setdefault(name, []).append({"true": True, "false": False}.get(code, code))
        return {"type": "address", "area": area, "filters": filters}
    area = (values["pmt_uc"] or "").strip() or values["pmt_tehsil"] or ""
    return {"type": "pmt_range", "area": area, "pmt_min": values["pmt_min"], "pmt_max": values["pmt_max"]}


@callback(Output(ids.RC_TEHSIL, "options"), Input(ids.RC_DISTRICT, "value"))
def tehsils_of(district: str | None):
    if not district:
        return []
    t = geography.tehsils()
    t = t[t.district_code == district]
    out = []
    for r in t.itertuples():
        name = place_names.text(r.tehsil_code, r.tehsil_name)
        option = {"label": name, "value": r.tehsil_code}
        if name != r.tehsil_name:  # the English name stays searchable on an Urdu page
            option["search"] = f"{name} {r.tehsil_name}"
        out.append(option)
    return out


@callback(
    Output(ids.RC_SEARCH, "data"),
    Output(ids.RC_STATUS, "children"),
    Output(ids.RC_GRID, "columnDefs"),
    Output(ids.RC_GRID, "rowData"),
    Output(ids.RC_MEMBERS, "data"),
    Output(ids.RC_DETAIL, "children"),
    Input(ids.RC_GO_CNIC, "n_clicks"),
    Input(ids.RC_GO_ADDRESS, "n_clicks"),
    Input(ids.RC_GO_PMT, "n_clicks"),
    Input(ids.RC_PREV, "n_clicks"),
    Input(ids.RC_NEXT, "n_clicks"),
    State(ids.RC_CNIC, "value"),
    State(ids.RC_DISTRICT, "value"),
    State(ids.RC_TEHSIL, "value"),
    State(ids.RC_UC, "value"),
    State(ids.RC_FILTERS, "value"),
    State(ids.RC_PMT_TEHSIL, "value"),
    State(ids.RC_PMT_UC, "value"),
    State(ids.RC_PMT_MIN, "value"),
    State(ids.RC_PMT_MAX, "value"),
    State(ids.RC_SEARCH, "data"),
    prevent_initial_call=True,
)
def run(
    _c, _a, _p, _prev, _next, cnic, district, tehsil, uc, filters, pmt_tehsil, pmt_uc, pmt_min, pmt_max, last
):
    trigger = ctx.triggered_id
    if trigger in (ids.RC_PREV, ids.RC_NEXT):
        if not last:
            return (no_update,) * 6
        search = dict(last["search"])
        search["page"] = max(1, int(search.get("page", 1)) + (1 if trigger == ids.RC_NEXT else -1))
    else:
        values = dict(
            cnic=cnic,
            district=district,
            tehsil=tehsil,
            uc=uc,
            filters=filters,
            pmt_tehsil=pmt_tehsil,
            pmt_uc=pmt_uc,
            pmt_min=pmt_min,
            pmt_max=pmt_max,
        )
        search = build_search(trigger, values)
    result = search_records(search)
    if not result.ok:
        return last, components.refusal(result.reason), [], [], None, None
    columns = [
        {"field": c, "headerName": _label("households", c), "headerTooltip": c}
        for c in result.columns.get("households", [])
    ]
    rows = result.households
    if not rows:
        said = _(result.reason) if result.reason else _("No household matches this search.")
        status = dbc.Alert(said, color="light")
    else:
        parts = [translated("{n} household(s)", n=i18n.group(result.total))]
        if result.truncated:
            parts.append(_("more match than your role may see; narrow the search"))
        if result.sampled:
            parts.append(_("a fixed 1% sample with identities replaced (Basic role)"))
        parts.append(
            translated(
                "page {page} of {pages}; {n} record(s) shown and logged",
                page=i18n.group(result.page),
                pages=i18n.group(result.pages),
                n=i18n.group(result.rows),
            )
        )
        status = html.Div(" · ".join(parts), className="small", id="rc-summary")
    members = {
        "columns": result.columns.get("members", []),
        "by_household": result.members,
        "payment_columns": result.columns.get("payments", []),
        "payments": result.payments,
    }
    return {"search": search}, status, columns, rows, members, None


@callback(
    Output(ids.RC_DETAIL, "children", allow_duplicate=True),
    Input(ids.RC_GRID, "selectedRows"),
    State(ids.RC_MEMBERS, "data"),
    prevent_initial_call=True,
)
def detail(selected, members):
    """The selected household's members, from the answer already on the page (no new search)."""
    if not selected or not members:
        return None
    row = selected[0]
    key = str(row.get("household_id", ""))
    shown = (members.get("by_household") or {}).get(key) or []
    facts = dbc.Table(
        html.Tbody(
            [
                html.Tr([html.Th(_label("households", k)), html.Td(_value("households", k, v))])
                for k, v in row.items()
            ]
        ),
        size="sm",
        className="small",
    )
    if not shown:
        return components.section(_("Household"), facts)
    cols = members["columns"] or list(shown[0])
    table = dbc.Table(
        [
            html.Thead(html.Tr([html.Th(_label("members", c)) for c in cols])),
            html.Tbody(
                [html.Tr([html.Td("" if m.get(c) is None else str(m.get(c))) for c in cols]) for m in shown]
            ),
        ],
        size="sm",
        striped=True,
        responsive=True,
        className="small",
        id="rc-members-table",
    )
    parts = [facts, html.H3(_("Members"), className="h6"), table]
    paid = (members.get("payments") or {}).get(key) or []
    if paid:
        pcols = members.get("payment_columns") or list(paid[0])
        parts += [
            html.H3(_("Kafaalat payments"), className="h6"),
            dbc.Table(
                [
                    html.Thead(html.Tr([html.Th(_label("payments", c)) for c in pcols])),
                    html.Tbody(
                        [html.Tr([html.Td(_value("payments", c, p.get(c))) for c in pcols]) for p in paid]
                    ),
                ],
                size="sm",
                striped=True,
                responsive=True,
                className="small",
                id="rc-payments-table",
            ),
        ]
    return components.section(_("Household"), parts)


@callback(
    Output(ids.RC_DOWNLOAD, "data"),
    Input(ids.RC_EXPORT, "n_clicks"),
    State(ids.RC_SEARCH, "data"),
    prevent_initial_call=True,
)
def export(n, last):
    """Every row of the last search within the role's limit, as one logged and metered request."""
    if not n or not last:
        return no_update
    search = {k: v for k, v in last["search"].items() if k != "page"}
    result = search_records({**search, "export": True})
    if not result.ok:
        return no_update
    households = pd.DataFrame(result.households, columns=result.columns.get("households"))
    if result.members and "household_id" in households.columns:
        rows = [
            {**{f"member_{k}": v for k, v in m.items()}, "household_id": int(hid)}
            for hid, ms in result.members.items()
            for m in ms
        ]
        frame = households.merge(pd.DataFrame(rows), on="household_id", how="left")
    else:
        frame = households
    buffer = io.StringIO()
    about = translated(
        "NSER record search ({kind}), {n} records, registry snapshot {id}",
        kind=result.kind,
        n=result.rows,
        id=result.snapshot_id,
    )
    buffer.write(f"# {about}\n")
    frame.to_csv(buffer, index=False)
    return dcc.send_string(buffer.getvalue(), f"nser-{result.kind}-search.csv")
