"""Report callbacks: the public catalogue, one published report (panels, downloads, PDF) and the MIS
designer. Who may see or change what is decided in dashboard.reports and dashboard.publication, which
every callback calls with the session's principal; a draft never renders outside MIS.

On Urdu pages a design shows the Urdu texts the MIS team gave it (``title_ur`` and the like), and its
English text, marked as English, where it has none."""

from __future__ import annotations

import json
import logging
from urllib.parse import urlsplit

import dash_bootstrap_components as dbc
from dash import ALL, Input, Output, State, callback, ctx, dcc, html, no_update

from dashboard import explorer_state as es
from dashboard import i18n, place_names, publication
from dashboard.answers import tabulate, to_csv, to_xlsx
from dashboard.callbacks.explore import chart
from dashboard.i18n import N_, _, translated
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
    "title": N_("New report"),
    "description": N_("What this report shows and for whom."),
    "topic": N_("Kafaalat"),
    "audience": "public",
    "parameters": [],
    "panels": [],
}
NEW_PANEL = N_("New panel")
AUDIENCE_NAMES = {"public": N_("public"), "business": N_("business")}
STATE_NAMES = {
    "draft": N_("draft"),
    "submitted": N_("submitted"),
    "approved": N_("approved"),
    "rejected": N_("rejected"),
    "published": N_("published"),
    "retired": N_("retired"),
}
ACTION_NAMES = {
    "create": N_("create"),
    "edit": N_("edit"),
    "submit": N_("submit"),
    "approve": N_("approve"),
    "publish": N_("publish"),
    "reject": N_("reject"),
    "retire": N_("retire"),
    "rollback": N_("rollback"),
    "supersede": N_("supersede"),
}
# the names of dashboard.reports.GEOGRAPHY_LABELS, marked for translation here where they are shown
GEOGRAPHY_NAMES = (
    N_("Pakistan"),
    N_("Provinces"),
    N_("Divisions"),
    N_("Districts"),
    N_("Tehsils"),
    N_("Union councils"),
)


def urdu() -> bool:
    return i18n.language() == "ur"


def local_text(item: dict, field: str) -> str:
    """A design's text as plain text in the reader's language: on Urdu pages its Urdu version where the
    MIS team wrote one (``title_ur`` for ``title``), else the English."""
    return (urdu() and item.get(f"{field}_ur")) or item[field]


def local_component(item: dict, field: str):
    """A design's text for a page: Urdu on Urdu pages where there is one, else the English text, marked
    as English so nobody takes it for a translation."""
    if not urdu() or item.get(f"{field}_ur"):
        return local_text(item, field)
    return html.Span(
        item[field], lang="en", dir="ltr", className="name-en-fallback", title=_("No Urdu text yet")
    )


def day(when, month: str = "long") -> str:
    """A date as readers of the page's language write it (Urdu month names; Urdu digits if chosen)."""
    if not urdu():
        return f"{when:%d %B %Y}" if month == "long" else f"{when:%d %b %Y}"
    return i18n.date_text(when, "%d %B %Y")


def name_of(table: dict, key: str) -> str:
    """A state's, action's or audience's name in the reader's language (the code itself if unknown)."""
    return _(table[key]) if key in table else key


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
    topic_names: dict[str, str] = {}
    for r in sorted(everything, key=lambda r: not r.design.get("topic_ur")):  # Urdu names first
        topic_names.setdefault(r.design["topic"], local_text(r.design, "topic"))
    topics = [{"label": topic_names[t], "value": t} for t in sorted(topic_names)]
    levels = {geography_of(r.design) for r in everything}
    geographies = [
        {"label": _(label), "value": lvl} for lvl, label in GEOGRAPHY_LABELS.items() if lvl in levels
    ]
    shown = [r for r in everything if matches(r, text or "", topic or "", geography or "")]  # one store read
    if not shown:
        return dbc.Alert(_("No published report matches."), color="light"), topics, geographies
    cards = [
        dbc.Col(
            dbc.Card(
                dbc.CardBody(
                    [
                        html.H2(
                            dcc.Link(local_component(r.design, "title"), href=f"/reports/{r.slug}"),
                            className="h6",
                        ),
                        html.P(local_component(r.design, "description"), className="small mb-2"),
                        html.Div(
                            [
                                dbc.Badge(
                                    local_component(r.design, "topic"), color="secondary", className="me-1"
                                ),
                                dbc.Badge(
                                    name_of(AUDIENCE_NAMES, r.design["audience"]),
                                    color="info",
                                    text_color="dark",  # white on cyan fails contrast
                                    className="me-1",
                                ),
                                dbc.Badge(
                                    _(GEOGRAPHY_LABELS[geography_of(r.design)]),
                                    color="light",
                                    text_color="dark",
                                    className="me-1",
                                ),
                                html.Small(
                                    translated(
                                        "v{version} · approved by {approver} on {date}",
                                        version=r.version,
                                        approver=r.approved_by,
                                        date=day(r.approved_at, "short"),
                                    ),
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


def cell(value, kind: str, code: str | None):
    """One cell of a panel's table as shown: numbers grouped the reader's way, x when suppressed, areas
    and categories in the page's language."""
    if isinstance(value, float):
        return i18n.group(value, 1)
    if kind == "value":
        return components.fmt(value)
    if value is None:
        return "x"
    if kind == "name":
        return place_names.component(code, value)
    if kind == "category" and isinstance(value, str):
        return _(value)
    return value


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
                                html.Td(cell(c, k, row[0]), className="text-end" if k == "value" else None)
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
    note = (
        html.Small(local_component(panel, "note"), className="text-body-secondary")
        if panel.get("note")
        else None
    )
    return components.section(
        local_component(panel, "title"), [body, note], download=str(index), kind="report"
    )


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
            components.refusal(_("There is no published report at this address.")),
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
            html.H1(local_component(design, "title"), className="h3"),
            html.P(local_component(design, "description")),
            html.P(
                [
                    dbc.Badge(translated("version {n}", n=info.version), color="secondary", className="me-2"),
                    html.Span(
                        translated(
                            "Approved by {approver} on {date}",
                            approver=info.approved_by,
                            date=day(info.approved_at),
                        ),
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
        options = [
            # typed in either script: the English name stays searchable on an Urdu page
            {"label": place_names.text(code, name), "value": code, "search": name}
            for code, name in parameter_choices(picker)
        ]
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
    options = [
        {
            "label": translated(
                "{slug} — v{version} {state}",
                slug=r.slug,
                version=r.version,
                state=name_of(STATE_NAMES, r.state),
            ),
            "value": r.slug,
        }
        for r in every
    ]
    table = dbc.Table(
        [
            html.Thead(html.Tr([html.Th(_("Report")), html.Th(_("Latest")), html.Th(_("State"))])),
            html.Tbody(
                [
                    html.Tr(
                        [
                            html.Td(r.slug, className="ltr"),
                            html.Td(f"v{r.version}"),
                            html.Td(name_of(STATE_NAMES, r.state)),
                        ]
                    )
                    for r in every
                ]
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
                    dcc.Link(f"{r.slug} v{r.version}", href=f"/reports/{r.slug}", className="me-2 ltr"),
                    dbc.Button(
                        _("Retire"),
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
        or [html.Small(_("Nothing is published."), className="text-body-secondary")]
    )
    return options, table, revoke


def _history(principal, slug: str | None):
    if not slug:
        return None
    try:
        events = Reports().history(principal, slug)
    except ReportNotFound:
        return None
    arrow = "←" if urdu() else "→"  # from one state to the next, in the direction of reading
    return dbc.Table(
        [
            html.Thead(
                html.Tr(
                    [
                        html.Th(h)
                        for h in (_("When"), _("Version"), _("Action"), _("State"), _("Who"), _("Comment"))
                    ]
                )
            ),
            html.Tbody(
                [
                    html.Tr(
                        [
                            html.Td(f"{e.at:%Y-%m-%d %H:%M}"),
                            html.Td(f"v{e.version}"),
                            html.Td(name_of(ACTION_NAMES, e.action)),
                            html.Td(
                                f"{name_of(STATE_NAMES, e.from_state) if e.from_state else '–'} {arrow} "
                                f"{name_of(STATE_NAMES, e.to_state)}"
                            ),
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
        raise DesignError(
            _("paste a link to the explorer, e.g. /explore?cube=persons&m=persons&level=district")
        )
    state = es.parse(search)
    query, problem = es.to_query(state)
    if query is None:
        raise DesignError(translated("that explorer link does not make a table: {problem}", problem=problem))
    visual = state.chart if state.chart in ("table", "bar", "stacked", "pyramid", "map") else "table"
    panel = {"title": NEW_PANEL, "visual": visual, "query": query}
    if urdu():  # a start for the Urdu title too
        panel["title_ur"] = _(NEW_PANEL)
    return panel


def new_design() -> dict:
    """The blank design the designer starts from (on Urdu pages with Urdu texts to replace as well)."""
    design = {}
    for key, value in NEW_DESIGN.items():
        design[key] = value
        if urdu() and key in ("title", "description", "topic"):
            design[f"{key}_ur"] = _(value)
    return design


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
        return components.refusal(_("Only the MIS team designs reports.")), "", [], None, None, None, None
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
                design_text = json.dumps(new_design(), indent=1, ensure_ascii=False)
        else:
            design = _parse(text)
            slug = design.get("slug") if isinstance(design, dict) else picked
            if trigger == ids.RA_ADD_PANEL:
                design.setdefault("panels", []).append(panel_from_link(link or ""))
                design_text = json.dumps(design, indent=1, ensure_ascii=False)
                message = dbc.Alert(_("Panel added: give it a title, then preview."), color="info")
            elif trigger == ids.RA_PREVIEW:
                rendered = publication.preview(principal, design)
                preview = dbc.Row(
                    [dbc.Col(panel_view(i, p, r), lg=6) for i, (p, r) in enumerate(rendered.panels)]
                )
                message = dbc.Alert(
                    translated(
                        "Preview as the {audience} audience will see it.",
                        audience=name_of(AUDIENCE_NAMES, design["audience"]),
                    ),
                    color="info",
                )
            elif trigger == ids.RA_SAVE:
                info = reports.save_draft(principal, design)
                message = dbc.Alert(
                    translated("Saved {slug} v{version} as a draft.", slug=info.slug, version=info.version),
                    color="success",
                )
            elif trigger == ids.RA_SUBMIT:
                info = reports.submit(principal, slug, comment)
                message = dbc.Alert(
                    translated(
                        "{slug} v{version} is submitted to the DG NSER.", slug=info.slug, version=info.version
                    ),
                    color="success",
                )
            elif trigger in (ids.RA_APPROVE, ids.RA_REJECT, ids.RA_ROLLBACK):
                # A decision is on the report chosen in the picker: the editor may still show the one
                # before it (its design arrives a moment after the choice), and approving that one
                # instead would be the worst mistake this page could make.
                slug = picked or slug
                if not version:
                    raise WorkflowError(_("enter the version number to decide on"))
                if trigger == ids.RA_APPROVE:
                    info = reports.approve(principal, slug, int(version), comment)
                    try:
                        publication.precompute(slug)
                    except Exception:  # served live on first view instead; the approval stands
                        log.exception("precomputing report %s failed", slug)
                    message = dbc.Alert(
                        translated(
                            "{slug} v{version} is approved and published.",
                            slug=info.slug,
                            version=info.version,
                        ),
                        color="success",
                    )
                elif trigger == ids.RA_REJECT:
                    info = reports.reject(principal, slug, int(version), comment or "")
                    message = dbc.Alert(
                        translated("{slug} v{version} is rejected.", slug=info.slug, version=info.version),
                        color="warning",
                    )
                else:
                    info = reports.rollback(principal, slug, int(version), comment)
                    message = dbc.Alert(
                        translated(
                            "{slug} v{version} is published again.", slug=info.slug, version=info.version
                        ),
                        color="success",
                    )
            elif isinstance(trigger, dict) and trigger.get("type") == "ra-retire":
                if not ctx.triggered[0].get("value"):
                    return (no_update,) * 7
                slug = trigger["slug"]
                info = reports.retire(principal, slug, comment)
                message = dbc.Alert(
                    translated("{slug} is retired: it is no longer public.", slug=info.slug), color="warning"
                )
    except (DesignError, WorkflowError, ReportNotFound, ValueError) as exc:
        message = dbc.Alert(_(str(exc)), color="danger")
    options, table, public = _listing(principal)
    return message, design_text, options, table, public, _history(principal, slug), preview


def _parse(text: str | None) -> dict:
    try:
        design = json.loads(text or "")
    except json.JSONDecodeError as exc:
        raise DesignError(
            translated(
                "the design is not valid JSON: {problem} at line {line}, column {column}",
                problem=exc.msg,
                line=exc.lineno,
                column=exc.colno,
            )
        ) from exc
    if not isinstance(design, dict):
        raise DesignError(_("the design must be a JSON object"))
    return design
