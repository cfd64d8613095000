"""Report callbacks: the public catalogue, one published report (panels, downloads, PDF) and the MIS
designer. Who may see or change what is decided in dashboard.reports and dashboard.publication, which
every callback calls with the session's principal; a draft never renders outside MIS."""

from __future__ import annotations

import json
import logging
from urllib.parse import urlsplit

import dash_bootstrap_components as dbc
from dash import ALL, Input, Output, State, callback, ctx, dcc, html, no_update

from dashboard import explorer_state as es
from dashboard import publication
from dashboard.answers import tabulate, to_csv, to_xlsx
from dashboard.callbacks.explore import chart
from dashboard.reports import (
    GEOGRAPHY_LABELS,
    DesignError,
    ReportNotFound,
    Reports,
    WorkflowError,
    geography_of,
    matches,
    parameter_choices,
)
from dashboard.web import current_principal
from layouts import components, ids

log = logging.getLogger(__name__)

NEW_DESIGN = {
    "slug": "new-report",
    "title": "New report",
    "description": "What this report shows and for whom.",
    "topic": "Kafaalat",
    "audience": "public",
    "parameters": [],
    "panels": [],
}


def audiences() -> tuple[str, ...]:
    return publication.audiences_for(current_principal())


def visible(slug: str) -> bool:
    return publication.may_open(current_principal(), slug)


# -- catalogue ---------------------------------------------------------------------------------------


@callback(
    Output(ids.RP_LIST, "children"),
    Output(ids.RP_TOPIC, "options"),
    Output(ids.RP_GEO, "options"),
    Input(ids.RP_SEARCH, "value"),
    Input(ids.RP_TOPIC, "value"),
    Input(ids.RP_GEO, "value"),
)
def catalogue(text: str | None, topic: str | None, geography: str | None):
    reports = Reports()
    everything = reports.catalogue(audiences())
    topics = sorted({r.design["topic"] for r in everything})
    levels = {geography_of(r.design) for r in everything}
    geographies = [{"label": label, "value": lvl} for lvl, label in GEOGRAPHY_LABELS.items() if lvl in levels]
    shown = [r for r in everything if matches(r, text or "", topic or "", geography or "")]  # one store read
    if not shown:
        return dbc.Alert("No published report matches.", color="light"), topics, geographies
    cards = [
        dbc.Col(
            dbc.Card(
                dbc.CardBody(
                    [
                        html.H2(dcc.Link(r.design["title"], href=f"/reports/{r.slug}"), className="h6"),
                        html.P(r.design["description"], className="small mb-2"),
                        html.Div(
                            [
                                dbc.Badge(r.design["topic"], color="secondary", className="me-1"),
                                dbc.Badge(r.design["audience"], color="info", className="me-1"),
                                dbc.Badge(
                                    GEOGRAPHY_LABELS[geography_of(r.design)],
                                    color="light",
                                    text_color="dark",
                                    className="me-1",
                                ),
                                html.Small(
                                    f"v{r.version} · approved by {r.approved_by} on {r.approved_at:%d %b %Y}",
                                    className="text-body-secondary",
                                ),
                            ]
                        ),
                    ]
                ),
                className="h-100 shadow-sm report-card",
            ),
            md=6,
            lg=4,
        )
        for r in shown
    ]
    return dbc.Row(cards, className="g-3"), topics, geographies


# -- one report --------------------------------------------------------------------------------------


def panel_view(index: int, panel: dict, result) -> dbc.Card:
    """A panel as the audience sees it: its chart, table or headline number, with its downloads."""
    if not result.ok:
        body = components.refusal(result.reason)
    elif panel["visual"] == "headline":
        measure = panel["query"]["measures"][0]
        value = result.rows[0].get(measure) if result.rows else None
        kind = "share" if measure.startswith("share") or measure.endswith("_rate") else "count"
        body = html.Div(components.fmt(value, kind), className="display-6 headline-value")
    elif panel["visual"] == "table":
        table = tabulate(result)
        body = dbc.Table(
            [
                html.Thead(html.Tr([html.Th(h) for h in table.headers])),
                html.Tbody(
                    [
                        html.Tr(
                            [
                                html.Td(
                                    components.fmt(c)
                                    if k == "value" and not isinstance(c, float)
                                    else (f"{c:,.1f}" if isinstance(c, float) else ("x" if c is None else c)),
                                    className="text-end" if k == "value" else None,
                                )
                                for c, k in zip(row, table.kinds, strict=True)
                            ]
                        )
                        for row in table.rows
                    ]
                ),
            ],
            size="sm",
            striped=True,
            responsive=True,
            className="report-table",
        )
    else:
        q = panel["query"]
        state = es.State(
            cube=q["cube"],
            measures=list(q["measures"]),
            dims=list(q.get("dimensions") or []),
            level=q["geography"]["level"],
            chart=panel["visual"],
        )
        body = dcc.Graph(figure=chart(state, result), config={"displayModeBar": False})
    note = html.Small(panel["note"], className="text-body-secondary") if panel.get("note") else None
    return components.section(panel["title"], [body, note], download=str(index), kind="report")


@callback(
    Output(ids.RP_HEADER, "children"),
    Output(ids.RP_PARAM, "options"),
    Output(ids.RP_PARAM, "value"),
    Output(ids.RP_PARAM, "style"),
    Output(ids.RP_PANELS, "children"),
    Input(ids.RP_SLUG, "data"),
    Input(ids.RP_PARAM, "value"),
)
def report_view(data: dict | None, chosen: str | None):
    slug = (data or {}).get("slug", "")
    params = dict((data or {}).get("params") or {})
    try:
        if not visible(slug):
            raise ReportNotFound(slug)
        info = Reports().published(slug)
        if info is None:
            raise ReportNotFound(slug)
        picker = (info.design.get("parameters") or [None])[0]
        if picker is not None and chosen:
            params[picker["name"]] = chosen
        rendered = publication.render(slug, params)
    except ReportNotFound:
        return (
            components.refusal("There is no published report at this address."),
            [],
            None,
            {"display": "none"},
            None,
        )
    except ValueError as exc:
        return components.refusal(str(exc)), [], None, {"display": "none"}, None
    design = info.design
    as_of = next((r.as_of for _, r in rendered.panels if r.as_of), None)
    protected = any(r.tier != "mis" for _, r in rendered.panels)
    header = html.Div(
        [
            html.H1(design["title"], className="h3"),
            html.P(design["description"]),
            html.P(
                [
                    dbc.Badge(f"version {info.version}", color="secondary", className="me-2"),
                    html.Span(
                        f"Approved by {info.approved_by} on {info.approved_at:%d %B %Y}",
                        className="small text-body-secondary report-stamp",
                    ),
                ]
            ),
            components.provenance(
                as_of, rendered.panels[0][1].snapshot_id if rendered.panels else None, protected
            ),
        ]
    )
    options, value, style = [], None, {"display": "none"}
    if picker is not None:
        options = [{"label": name, "value": code} for code, name in parameter_choices(picker)]
        value, style = rendered.parameters[picker["name"]], {}
    panels = dbc.Row(
        [
            dbc.Col(panel_view(i, p, r), lg=6 if len(rendered.panels) > 1 else 12)
            for i, (p, r) in enumerate(rendered.panels)
        ]
    )
    return header, options, value, style, panels


@callback(
    Output(ids.RP_DOWNLOAD, "data"),
    Input({"type": "report-csv", "section": ALL}, "n_clicks"),
    Input({"type": "report-xlsx", "section": ALL}, "n_clicks"),
    Input(ids.RP_PDF, "n_clicks"),
    State(ids.RP_SLUG, "data"),
    State(ids.RP_PARAM, "value"),
    prevent_initial_call=True,
)
def report_download(_csv, _xlsx, _pdf, data: dict | None, chosen: str | None):
    """Downloads of exactly what is shown: the same cached, published answers."""
    trigger = ctx.triggered_id
    if trigger is None or not ctx.triggered or not ctx.triggered[0].get("value"):
        return no_update
    slug = (data or {}).get("slug", "")
    if not visible(slug):
        return no_update
    info = Reports().published(slug)
    if info is None:
        return no_update
    params = dict((data or {}).get("params") or {})
    picker = (info.design.get("parameters") or [None])[0]
    if picker is not None and chosen:
        params[picker["name"]] = chosen
    try:
        rendered = publication.render(slug, params)
    except (ReportNotFound, ValueError):
        return no_update
    if trigger == ids.RP_PDF:
        from dashboard.report_pdf import report_pdf

        return dcc.send_bytes(report_pdf(rendered), f"{slug}-v{info.version}.pdf")
    index = int(trigger["section"])
    if not 0 <= index < len(rendered.panels):
        return no_update
    _, result = rendered.panels[index]
    if not result.ok:
        return no_update
    name = f"{slug}-v{info.version}-panel{index + 1}"
    if trigger["type"] == "report-csv":
        return dcc.send_string(to_csv(result), f"{name}.csv")
    return dcc.send_bytes(to_xlsx(result), f"{name}.xlsx")


# -- the designer (MIS) ------------------------------------------------------------------------------


def _listing(principal) -> tuple[list, html.Div, html.Div]:
    reports = Reports()
    every = reports.all_reports(principal)
    options = [{"label": f"{r.slug} — v{r.version} {r.state}", "value": r.slug} for r in every]
    table = dbc.Table(
        [
            html.Thead(html.Tr([html.Th("Report"), html.Th("Latest"), html.Th("State")])),
            html.Tbody(
                [html.Tr([html.Td(r.slug), html.Td(f"v{r.version}"), html.Td(r.state)]) for r in every]
            ),
        ],
        size="sm",
        className="small",
    )
    public = reports.catalogue(("public", "business"))
    revoke = html.Div(
        [
            html.Div(
                [
                    dcc.Link(f"{r.slug} v{r.version}", href=f"/reports/{r.slug}", className="me-2"),
                    dbc.Button(
                        "Retire",
                        id={"type": "ra-retire", "slug": r.slug},
                        size="sm",
                        color="danger",
                        outline=True,
                    ),
                ],
                className="d-flex justify-content-between align-items-center mb-1",
            )
            for r in public
        ]
        or [html.Small("Nothing is published.", className="text-body-secondary")]
    )
    return options, table, revoke


def _history(principal, slug: str | None):
    if not slug:
        return None
    try:
        events = Reports().history(principal, slug)
    except ReportNotFound:
        return None
    return dbc.Table(
        [
            html.Thead(
                html.Tr([html.Th(h) for h in ("When", "Version", "Action", "State", "Who", "Comment")])
            ),
            html.Tbody(
                [
                    html.Tr(
                        [
                            html.Td(f"{e.at:%Y-%m-%d %H:%M}"),
                            html.Td(f"v{e.version}"),
                            html.Td(e.action),
                            html.Td(f"{e.from_state or '–'} → {e.to_state}"),
                            html.Td(e.username),
                            html.Td(e.comment or ""),
                        ]
                    )
                    for e in events
                ]
            ),
        ],
        size="sm",
        className="small",
        id="ra-history-table",
    )


def panel_from_link(link: str) -> dict:
    """An explorer link's table as a report panel (the explorer's state is the query)."""
    search = urlsplit(link.strip()).query
    if not search:
        raise DesignError("paste a link to the explorer, e.g. /explore?cube=persons&m=persons&level=district")
    state = es.parse(search)
    query, problem = es.to_query(state)
    if query is None:
        raise DesignError(f"that explorer link does not make a table: {problem}")
    visual = state.chart if state.chart in ("table", "bar", "stacked", "pyramid", "map") else "table"
    return {"title": "New panel", "visual": visual, "query": query}


@callback(
    Output(ids.RA_MESSAGE, "children"),
    Output(ids.RA_DESIGN, "value"),
    Output(ids.RA_PICK, "options"),
    Output(ids.RA_LIST, "children"),
    Output(ids.RA_PUBLIC, "children"),
    Output(ids.RA_HISTORY, "children"),
    Output(ids.RA_PREVIEW_OUT, "children"),
    Input(ids.RA_PICK, "value"),
    Input(ids.RA_ADD_PANEL, "n_clicks"),
    Input(ids.RA_PREVIEW, "n_clicks"),
    Input(ids.RA_SAVE, "n_clicks"),
    Input(ids.RA_SUBMIT, "n_clicks"),
    Input(ids.RA_APPROVE, "n_clicks"),
    Input(ids.RA_REJECT, "n_clicks"),
    Input(ids.RA_ROLLBACK, "n_clicks"),
    Input({"type": "ra-retire", "slug": ALL}, "n_clicks"),
    State(ids.RA_DESIGN, "value"),
    State(ids.RA_EXPLORER_LINK, "value"),
    State(ids.RA_VERSION, "value"),
    State(ids.RA_COMMENT, "value"),
)
def designer(
    picked,
    _add,
    _preview,
    _save,
    _submit,
    _approve,
    _reject,
    _rollback,
    _retire,
    text,
    link,
    version,
    comment,
):
    principal = current_principal()
    if principal is None or principal.tier != "mis":
        return components.refusal("Only the MIS team designs reports."), "", [], None, None, None, None
    reports = Reports()
    trigger = ctx.triggered_id
    message, design_text, preview = None, no_update, no_update
    slug = picked
    try:
        if trigger in (None, ids.RA_PICK):
            if picked:
                design_text = json.dumps(
                    reports.versions(principal, picked)[-1].design, indent=1, ensure_ascii=False
                )
            else:
                design_text = json.dumps(NEW_DESIGN, indent=1)
        else:
            design = _parse(text)
            slug = design.get("slug") if isinstance(design, dict) else picked
            if trigger == ids.RA_ADD_PANEL:
                design.setdefault("panels", []).append(panel_from_link(link or ""))
                design_text = json.dumps(design, indent=1, ensure_ascii=False)
                message = dbc.Alert("Panel added: give it a title, then preview.", color="info")
            elif trigger == ids.RA_PREVIEW:
                rendered = publication.preview(principal, design)
                preview = dbc.Row(
                    [dbc.Col(panel_view(i, p, r), lg=6) for i, (p, r) in enumerate(rendered.panels)]
                )
                message = dbc.Alert(
                    f"Preview as the {design['audience']} audience will see it.", color="info"
                )
            elif trigger == ids.RA_SAVE:
                info = reports.save_draft(principal, design)
                message = dbc.Alert(f"Saved {info.slug} v{info.version} as a draft.", color="success")
            elif trigger == ids.RA_SUBMIT:
                info = reports.submit(principal, slug, comment)
                message = dbc.Alert(
                    f"{info.slug} v{info.version} is submitted to the DG NSER.", color="success"
                )
            elif trigger in (ids.RA_APPROVE, ids.RA_REJECT, ids.RA_ROLLBACK):
                if not version:
                    raise WorkflowError("enter the version number to decide on")
                if trigger == ids.RA_APPROVE:
                    info = reports.approve(principal, slug, int(version), comment)
                    try:
                        publication.precompute(slug)
                    except Exception:  # served live on first view instead; the approval stands
                        log.exception("precomputing report %s failed", slug)
                    message = dbc.Alert(
                        f"{info.slug} v{info.version} is approved and published.", color="success"
                    )
                elif trigger == ids.RA_REJECT:
                    info = reports.reject(principal, slug, int(version), comment or "")
                    message = dbc.Alert(f"{info.slug} v{info.version} is rejected.", color="warning")
                else:
                    info = reports.rollback(principal, slug, int(version), comment)
                    message = dbc.Alert(f"{info.slug} v{info.version} is published again.", color="success")
            elif isinstance(trigger, dict) and trigger.get("type") == "ra-retire":
                if not ctx.triggered[0].get("value"):
                    return (no_update,) * 7
                slug = trigger["slug"]
                info = reports.retire(principal, slug, comment)
                message = dbc.Alert(f"{info.slug} is retired: it is no longer public.", color="warning")
    except (DesignError, WorkflowError, ReportNotFound, ValueError) as exc:
        message = dbc.Alert(str(exc), color="danger")
    options, table, public = _listing(principal)
    return message, design_text, options, table, public, _history(principal, slug), preview


def _parse(text: str | None) -> dict:
    try:
        design = json.loads(text or "")
    except json.JSONDecodeError as exc:
        raise DesignError(
            f"the design is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}"
        ) from exc
    if not isinstance(design, dict):
        raise DesignError("the design must be a JSON object")
    return design
