"""Explorer callbacks: URL ⇄ controls, the gateway answer as chart and table, exports, saved views.

One callback owns the URL and the controls together (Dash allows that circle inside a single callback):
a change of URL (first load, back button, a shared link) sets the controls; a change of a control writes
the URL. Either way the table is asked of the gateway as the session's actor.
"""

from __future__ import annotations

import hashlib
import time

import dash
from dash import ALL, Input, Output, State, callback, ctx, dcc, html, no_update
from itsdangerous import BadSignature, URLSafeTimedSerializer

from cubes.model import load_model
from dashboard import explorer_state as es
from dashboard import i18n
from dashboard.answers import ask, dimension_header, tabulate, to_csv, to_xlsx
from dashboard.i18n import _, translated
from dashboard.web import current_principal
from data import geography
from layouts import components, figures, ids
from layouts.explore import QUICK, area_options

EXPORT_TTL = 600  # seconds an export ticket stays valid


def _measure_options(cube: str, tier: str) -> list[dict]:
    c = load_model().cubes[cube]
    return [
        {"label": _(m.description), "value": m.name, "title": _(m.unit)}
        for m in c.measures.values()
        if tier in m.tiers
    ]


def _dim_options(cube: str) -> list[dict]:
    model = load_model()
    return [{"label": _(model.dimensions[d].description), "value": d} for d in model.cubes[cube].dimensions]


def _filter_options(cube: str, dims: list[str], members: dict | None = None) -> list[dict]:
    model = load_model()
    out = []
    for d in dims:
        dim = model.dimensions[d]
        for m in dim.members or []:
            out.append({"label": f"{dimension_header(d)}: {_(m.label)}", "value": f"{d}:{m.code}"})
    return out


def _district_options(province: str | None) -> list[dict]:
    d = geography.districts()
    if province:
        d = d[d.province_code == province]
    return area_options(d, "district_code", "district")


def _tehsil_options(district: str | None) -> list[dict]:
    if not district:
        return []
    t = geography.tehsils()
    return area_options(t[t.district_code == district], "tehsil_code", "tehsil_name")


def _area_parts(area: str | None) -> tuple[str | None, str | None, str | None]:
    if not area:
        return None, None, None
    t = geography.tehsils().set_index("tehsil_code")
    d = geography.districts().set_index("district_code")
    if area in t.index:
        district = t.loc[area, "district_code"]
        return d.loc[district, "province_code"], district, area
    if area in d.index:
        return d.loc[area, "province_code"], area, None
    return area, None, None


def across_options(dims: list[str]) -> list[dict]:
    none = {"label": _("None: one row per cell"), "value": "none"}
    return [none] + [{"label": dimension_header(d), "value": d} for d in dims] if dims else []


def number_format() -> str:
    """The grid's number format (JavaScript): grouped the reader's way, 1,234,567 or 12,34,567, in Latin or
    Urdu digits, as i18n.group writes them on the server; x for a suppressed cell."""
    grouping, digits = i18n.number_style()
    if (grouping, digits) == ("international", "latin"):
        return "params.value == null ? 'x' : d3.format(',')(params.value)"
    locale = "en-IN" if grouping == "south_asian" else "en-US"
    text = f"params.value.toLocaleString('{locale}', {{maximumFractionDigits: 12}})"
    if digits == "urdu":
        text += r".replace(/\d/g, (d) => '۰۱۲۳۴۵۶۷۸۹'[d]).replace(/,/g, '٬').replace(/\./g, '٫')"
    return f"params.value == null ? 'x' : {text}"


def grid(result, across: str | None) -> tuple[list[dict], list[dict]]:
    """AG Grid columns and rows for the table everyone reads and exports (answers.tabulate)."""
    table = tabulate(result, across)
    cols = []
    # The grid keeps a column while its id stays, with attributes the new definition leaves out (a number
    # format carried onto a column of names showed "NaN"); so a table of another shape gets new columns.
    shape = hashlib.sha1("\x1f".join([*table.headers, *table.kinds]).encode()).hexdigest()[:8]
    for i, (header, kind, unit) in enumerate(zip(table.headers, table.kinds, table.units, strict=True)):
        col = {"field": f"c{i}", "colId": f"{shape}-c{i}", "headerName": header, "headerTooltip": header}
        if kind == "code":
            col.update(width=110, suppressSizeToFit=True)
        elif kind == "name":
            # pinned first where a reader starts: on the left, or on the right of a right-to-left page
            col.update(pinned="right" if i18n.direction() == "rtl" else "left", minWidth=140)
        elif kind == "value":
            col.update(
                type="rightAligned",
                minWidth=90,
                valueFormatter={"function": number_format()},
                headerClass="text-wrap" if unit else None,
            )
        cols.append(col)
    rows = [{f"c{i}": v for i, v in enumerate(r)} for r in table.rows]
    return cols, rows


def chart(state: es.State, result):
    if not result.ok:
        return figures.empty("")
    rows = [r for r in result.rows if all(r.get(d) != "_total" for d in state.dims)]
    geo_col = result.columns[0]
    measure = state.measures[0]
    cube = load_model().cubes[state.cube]
    if state.chart == "table" or not rows:
        return figures.empty(_("Table only") if rows else _("No cells"))
    if all(r.get(measure) is None for r in rows):
        return figures.empty(
            _("Every cell is suppressed (x) here: choose a larger area or fewer categories.")
        )
    if state.chart == "map":
        if state.level not in ("province", "division", "district") or state.dims:
            return figures.empty(_("Maps show provinces, divisions or districts without a breakdown."))
        unit = "%" if cube.measures[measure].unit == "percent" else ""
        return figures.choropleth(
            rows, geo_col, measure, dash.get_asset_url(f"geo/{state.level}s.json"), unit=unit
        )
    if state.chart == "pyramid":
        if set(state.dims) != {"gender", "age_group"}:
            return figures.empty(_("A pyramid needs exactly the gender and age breakdowns."))
        if len({r[geo_col] for r in rows}) > 1:
            return figures.empty(_("A pyramid shows one area: choose one area (or the national level)."))
        return figures.pyramid(rows, measure)
    # what a bar's hover calls bars without series: the measure's code on English pages, its
    # description in the reader's language otherwise
    name = None if i18n.language() == i18n.DEFAULT else _(cube.measures[measure].description)
    if not state.dims and len(rows) > 60:  # too many bars to read: the 40 largest, as published
        shown = sorted([r for r in rows if r[measure] is not None], key=lambda r: -r[measure])[:40]
        return figures.bar(
            shown,
            geo_col,
            measure,
            title=translated("The 40 largest of {n} areas (all are in the table)", n=len(rows)),
            name=name,
        )
    category = state.dims[0] if state.dims else geo_col
    series = (
        state.dims[1]
        if len(state.dims) > 1
        else (
            geo_col
            if state.dims and len({r[geo_col] for r in rows}) > 1 and len({r[geo_col] for r in rows}) <= 12
            else None
        )
    )
    if state.dims and series is None and len({r[geo_col] for r in rows}) > 1:
        category, series = geo_col, state.dims[0]
    return figures.bar(rows, category, measure, series=series, stacked=state.chart == "stacked", name=name)


@callback(
    Output(ids.EX_URL, "search"),
    Output(ids.EX_CUBE, "value"),
    Output(ids.EX_MEASURES, "options"),
    Output(ids.EX_MEASURES, "value"),
    Output(ids.EX_DIMS, "options"),
    Output(ids.EX_DIMS, "value"),
    Output(ids.EX_ACROSS, "options"),
    Output(ids.EX_ACROSS, "value"),
    Output(ids.EX_FILTERS, "options"),
    Output(ids.EX_FILTERS, "value"),
    Output(ids.EX_LEVEL, "value"),
    Output(ids.EX_PROVINCE, "value"),
    Output(ids.EX_DISTRICT, "options"),
    Output(ids.EX_DISTRICT, "value"),
    Output(ids.EX_TEHSIL, "options"),
    Output(ids.EX_TEHSIL, "value"),
    Output(ids.EX_CHART, "value"),
    Output(ids.EX_TOTALS, "value"),
    Output(ids.EX_GRAPH, "figure"),
    Output(ids.EX_TABLE, "columnDefs"),
    Output(ids.EX_TABLE, "rowData"),
    Output(ids.EX_MESSAGE, "children"),
    Output(ids.EX_PROVENANCE, "children"),
    Input(ids.EX_URL, "search"),
    Input(ids.EX_CUBE, "value"),
    Input(ids.EX_MEASURES, "value"),
    Input(ids.EX_DIMS, "value"),
    Input(ids.EX_FILTERS, "value"),
    Input(ids.EX_LEVEL, "value"),
    Input(ids.EX_PROVINCE, "value"),
    Input(ids.EX_DISTRICT, "value"),
    Input(ids.EX_TEHSIL, "value"),
    Input(ids.EX_CHART, "value"),
    Input(ids.EX_TOTALS, "value"),
    Input(ids.EX_ACROSS, "value"),
    Input({"type": ids.EX_QUICK, "name": ALL}, "n_clicks"),
    State(ids.EX_URL, "pathname"),
)
def explore(
    search,
    cube,
    measures,
    dims,
    filters,
    level,
    province,
    district,
    tehsil,
    chart_type,
    totals,
    across,
    _quick,
    pathname,
):
    if pathname != "/explore":
        raise dash.exceptions.PreventUpdate
    principal = current_principal()
    if principal is None:  # a direct POST without a session: nothing but a pointer to the login page
        return (no_update,) * 21 + (components.refusal(_("Log in to use the explorer.")), None)
    trigger = ctx.triggered_id
    if trigger in (None, ids.EX_URL):
        state = es.parse(search)
    elif isinstance(trigger, dict) and trigger.get("type") == ids.EX_QUICK:
        if trigger.get("name") not in QUICK:
            raise dash.exceptions.PreventUpdate
        state = es.parse("?" + QUICK[trigger["name"]])  # a quick start: its state, as a new history entry
    else:
        state = es.State(
            cube=cube or "households",
            measures=list(measures or []),
            dims=list(dims or []),
            level=level or "province",
            area=tehsil or district or province,
            chart=chart_type or "bar",
            totals="totals" in (totals or []),
            filters=list(filters or []),
            across=None if across in (None, "none") else across,
        )
        if trigger == ids.EX_CUBE:  # a new cube: its own measures and dimensions
            state.measures, state.dims, state.filters = [], [], []
        if trigger == ids.EX_DIMS or (across is None and state.dims):  # the newest breakdown goes across
            state.across = state.dims[-1] if state.dims else None
        if trigger == ids.EX_PROVINCE:
            state.area = province
        if trigger == ids.EX_DISTRICT:
            state.area = district or province
        state = es.parse(es.serialize(state))  # one normalisation for both paths
    new_search = es.serialize(state)
    prov_code, dist_code, teh_code = _area_parts(state.area)
    query, problem = es.to_query(state)
    if query is None:
        result, message = None, components.refusal(_(problem))
    else:
        result = ask(query)
        message = None if result.ok else components.refusal(result.reason)
    figure = chart(state, result) if result is not None and result.ok else figures.empty("")
    columns, rows = grid(result, state.across) if result is not None and result.ok else ([], [])
    provenance = (
        components.provenance(result.as_of, result.snapshot_id, result.tier != "mis") if result else None
    )
    # A change made here is a new history entry (the back button undoes it). A URL the browser already
    # shows (first load, a shared link, the back button) is left as it is: rewriting it would push an
    # entry that traps the back button, and dcc.Location cannot replace one.
    from_url = trigger in (None, ids.EX_URL)
    return (
        new_search if new_search != (search or "") and not from_url else no_update,
        state.cube,
        _measure_options(state.cube, principal.tier),
        state.measures,
        _dim_options(state.cube),
        state.dims,
        across_options(state.dims),
        (state.across or "none") if state.dims else None,
        _filter_options(state.cube, state.dims),
        state.filters,
        state.level,
        prov_code,
        _district_options(prov_code),
        dist_code,
        _tehsil_options(dist_code),
        teh_code,
        state.chart,
        ["totals"] if state.totals else [],
        figure,
        columns,
        rows,
        message,
        provenance,
    )


def _serializer() -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(dash.get_app().server.config["SECRET_KEY"], salt="nser-export")


@callback(
    Output("ex-export-token", "data"),
    Input(ids.EX_EXPORT_CSV, "n_clicks"),
    Input(ids.EX_EXPORT_XLSX, "n_clicks"),
    State(ids.EX_URL, "search"),
    prevent_initial_call=True,
)
def request_export(_csv, _xlsx, search):
    """Sign an export ticket for the logged-in user; the background job trusts only the signature."""
    principal = current_principal()
    if principal is None or not ctx.triggered_id:
        return no_update
    state = es.parse(search)
    query, _problem = es.to_query(state)
    if query is None:
        return no_update
    fmt = "csv" if ctx.triggered_id == ids.EX_EXPORT_CSV else "xlsx"
    ticket = {
        "user": principal.username,
        "query": query,
        "across": state.across,
        "fmt": fmt,
        "lang": i18n.language(),  # the file speaks the language of the page it was asked from
        "at": time.time(),
    }
    return _serializer().dumps(ticket)


@callback(
    Output(ids.EX_DOWNLOAD, "data"),
    Input("ex-export-token", "data"),
    background=True,
    progress=[Output(ids.EX_PROGRESS, "value"), Output(ids.EX_PROGRESS, "style")],
    prevent_initial_call=True,
)
def run_export(set_progress, token):
    """Runs in a background worker (no request context): the signed ticket says who asked what."""
    visible = {"width": "12rem", "height": "0.6rem", "visibility": "visible"}
    hidden = {**visible, "visibility": "hidden"}
    try:
        ticket = _serializer().loads(token, max_age=EXPORT_TTL)
    except (BadSignature, TypeError):
        return no_update
    from dashboard.accounts import Accounts
    from dashboard.oversight import actor_for, governed_gateway

    set_progress((10, visible))
    principal = Accounts().get(ticket["user"])
    if principal is None:
        set_progress((0, hidden))
        return no_update
    result = governed_gateway().run_query(actor_for(principal), ticket["query"])
    set_progress((70, visible))
    if not result.ok:
        set_progress((0, hidden))
        return no_update
    name = f"nser-{result.cube}-{result.as_of}"
    lang = ticket.get("lang") if ticket.get("lang") in i18n.LANGUAGES else i18n.DEFAULT
    # the worker has no request of its own: one that carries the ticket's language, so the headers,
    # labels and notes of the file are those of the page it was asked from
    with dash.get_app().server.test_request_context("/", query_string={"lang": lang}):
        out = (
            dcc.send_string(to_csv(result, ticket.get("across")), f"{name}.csv")
            if ticket["fmt"] == "csv"
            else dcc.send_bytes(to_xlsx(result, ticket.get("across")), f"{name}.xlsx")
        )
    set_progress((100, hidden))
    return out


@callback(
    Output(ids.EX_SAVED, "children"),
    Input(ids.EX_SAVE_VIEW, "n_clicks"),
    State(ids.EX_VIEW_NAME, "value"),
    State(ids.EX_URL, "search"),
)
def saved_views(n_clicks, name, search):
    from dashboard.views import SavedViews

    principal = current_principal()
    if principal is None:
        return None
    views = SavedViews()
    if ctx.triggered_id == ids.EX_SAVE_VIEW and name and name.strip():
        views.save(principal.user_id, name.strip(), es.serialize(es.parse(search)))
    items = [  # the names people gave their views: data, in any script
        html.Li(dcc.Link(v.name, href=f"/explore{v.search}", className="user-data"), dir="auto")
        for v in views.list(principal.user_id)
    ]
    return (
        [html.Div(_("Saved views"), className="fw-semibold"), html.Ul(items, className="mb-0 ps-3")]
        if items
        else html.Div(_("No saved views yet."), className="text-body-secondary")
    )
