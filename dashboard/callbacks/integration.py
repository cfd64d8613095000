"""Integration page callbacks (MIS). Who may load, review or reverse is checked in
dashboard.integration (every method needs an MIS principal), not here."""

from __future__ import annotations

import base64
import binascii
from collections import Counter

import dash_bootstrap_components as dbc
from dash import Input, Output, State, callback, ctx, html, no_update

from dashboard.answers import ask
from dashboard.integration import BatchRejected, Integration, IntegrationError
from dashboard.web import current_actor, current_principal
from layouts import components, figures, ids

ACTION_IDS = [f"in-{a}" for a in ids.IN_ACTIONS]
REFUSED = "Only the BISP MIS team works on integration."


def _mis():
    principal = current_principal()
    return principal if principal is not None and principal.tier == "mis" else None


def _summary(principal):
    counts = {row["state"]: row["events"] for row in Integration().counts(principal, ("state",))}
    return html.Div(
        [
            dbc.Badge(f"{state}: {counts.get(state, 0):,}", color=color, className="me-2 p-2")
            for state, color in (
                ("pending", "warning"),
                ("confirmed", "success"),
                ("resurvey", "primary"),
                ("appealed", "info"),
                ("dismissed", "secondary"),
                ("reversed", "dark"),
            )
        ],
        id="in-counts",
    )


def _chart(principal):
    rows = Integration().counts(principal, ("feed", "state"))
    if not rows:
        return figures.empty("No integration events yet: load a feed below.")
    feeds = sorted({r["feed"] for r in rows})
    by = {(r["feed"], r["state"]): r["events"] for r in rows}
    series = {state: [by.get((f, state), 0) for f in feeds] for state in sorted({r["state"] for r in rows})}
    return figures.stacked_counts(feeds, series, "Events by feed and state")


def _batches(principal):
    rows = Integration().batches(principal, 20)
    if not rows:
        return html.P("No batch yet.", className="small text-body-secondary")
    head = ("Batch", "Feed", "From", "Records", "Matched", "Unmatched", "Ambiguous", "Events", "Loaded")
    return dbc.Table(
        [
            html.Thead(html.Tr([html.Th(h) for h in head])),
            html.Tbody(
                [
                    html.Tr(
                        [
                            html.Td(b.id),
                            html.Td(b.feed),
                            html.Td(b.origin),
                            html.Td(f"{b.rows:,}"),
                            html.Td(f"{b.matched:,}"),
                            html.Td(f"{b.unmatched:,}"),
                            html.Td(f"{b.ambiguous:,}"),
                            html.Td(f"{b.events:,}"),
                            html.Td(f"{b.loaded_at:%d %b %Y %H:%M} by {b.loaded_by}"),
                        ]
                    )
                    for b in rows
                ]
            ),
        ],
        size="sm",
        striped=True,
        responsive=True,
        id="in-batches-table",
    )


def _months(principal):
    rows = Integration().counts(principal, ("month", "effect", "code"))
    if not rows:
        return figures.empty("")
    months = sorted({r["month"] for r in rows})
    kinds = sorted({f"{r['effect']}: {r['code']}" if r["code"] else r["effect"] for r in rows})
    by = Counter()
    for r in rows:
        by[(r["month"], f"{r['effect']}: {r['code']}" if r["code"] else r["effect"])] += r["events"]
    return figures.stacked_counts(
        months, {k: [by[(m, k)] for m in months] for k in kinds}, "Events raised by month"
    )


def _districts(principal):
    rows = Integration().counts(principal, ("district", "effect"))
    if not rows:
        return None
    totals: Counter = Counter()
    split: dict[str, Counter] = {}
    for r in rows:
        totals[r["district"]] += r["events"]
        split.setdefault(r["district"], Counter())[r["effect"]] += r["events"]
    top = [d for d, _ in totals.most_common(12)]
    return html.Div(
        [
            html.H2("Districts with the most events", className="h6"),
            dbc.Table(
                [
                    html.Thead(
                        html.Tr([html.Th(h) for h in ("District", "Holds", "Flags", "Deaths", "All")])
                    ),
                    html.Tbody(
                        [
                            html.Tr(
                                [
                                    html.Td(d or "—"),
                                    html.Td(split[d]["hold"]),
                                    html.Td(split[d]["flag"]),
                                    html.Td(split[d]["deceased"]),
                                    html.Td(totals[d]),
                                ]
                            )
                            for d in top
                        ]
                    ),
                ],
                size="sm",
                striped=True,
                id="in-districts-table",
            ),
        ]
    )


def _snapshot_figures():
    """What the current snapshot applied, from the integration cube through the gateway (MIS values)."""
    answer = ask(
        {
            "cube": "integration",
            "measures": [
                "held_households",
                "held_beneficiary_households",
                "relief_priority_households",
                "resurvey_households",
            ],
            "geography": {"level": "national"},
        }
    )
    if not answer.ok or not answer.rows:
        return components.refusal(answer.reason or "no integration figures in the current snapshot")
    row = answer.rows[0]
    return html.P(
        [
            html.Strong("In the current snapshot: "),
            f"{components.fmt(row['held_households'])} households held, of which "
            f"{components.fmt(row['held_beneficiary_households'])} beneficiary households held because another "
            f"registry shows means (the estimated inclusion errors removed, once verified); "
            f"{components.fmt(row['relief_priority_households'])} with relief priority; "
            f"{components.fmt(row['resurvey_households'])} due for re-survey.",
        ],
        className="small",
        id="in-snapshot-figures",
    )


@callback(
    Output(ids.IN_SUMMARY, "children"),
    Output(ids.IN_SNAPSHOT, "children"),
    Output(ids.IN_CHART, "figure"),
    Output(ids.IN_MONTHS, "figure"),
    Output(ids.IN_DISTRICTS, "children"),
    Output(ids.IN_BATCHES, "children"),
    Input(ids.IN_ACTION_OUT, "children"),
    Input(ids.IN_LOAD_OUT, "children"),
)
def overview(_action, _load):
    principal = _mis()
    if principal is None:
        return components.refusal(REFUSED), None, figures.empty(""), figures.empty(""), None, None
    return (
        _summary(principal),
        _snapshot_figures(),
        _chart(principal),
        _months(principal),
        _districts(principal),
        _batches(principal),
    )


@callback(
    Output(ids.IN_EVENTS, "rowData"),
    Input(ids.IN_STATE, "value"),
    Input(ids.IN_FEED_FILTER, "value"),
    Input(ids.IN_ACTION_OUT, "children"),
    Input(ids.IN_LOAD_OUT, "children"),
)
def event_rows(state, feed, _action, _load):
    principal = _mis()
    if principal is None:
        return []
    try:
        rows = Integration().events(
            principal,
            state if isinstance(state, str) else "pending",
            feed if isinstance(feed, str) else None,
            limit=500,
        )
    except IntegrationError:
        return []
    return [
        {
            "id": e.id,
            "feed": e.feed,
            "district": e.district_code,
            "since": e.since.isoformat(),
            "explanation": e.explanation,
        }
        for e in rows
    ]


def _selected(rows) -> int | None:
    if isinstance(rows, list) and rows and isinstance(rows[0], dict) and isinstance(rows[0].get("id"), int):
        return rows[0]["id"]
    return None


@callback(
    Output(ids.IN_DETAIL, "children"),
    Input(ids.IN_EVENTS, "selectedRows"),
    Input(ids.IN_ACTION_OUT, "children"),
)
def detail(rows, _action):
    principal, event_id = _mis(), _selected(rows)
    if principal is None or event_id is None:
        return None
    try:
        event, record, steps = Integration().event(principal, event_id)
    except IntegrationError as exc:
        return dbc.Alert(str(exc), color="warning")
    facts = [html.Li(f"{k}: {v}") for k, v in (record.payload or {}).items() if v is not None]
    evidence = [html.Li(f"{k}: {v}") for k, v in (record.evidence or {}).items() if v is not None]
    history = [
        html.Li(
            f"{s.at:%d %b %Y %H:%M} {s.actor}: {s.action} ({s.from_state or '—'} → {s.to_state})"
            + (f" — {s.comment}" if s.comment else "")
        )
        for s in steps
    ]
    appeal = f" Appeal until {event.appeal_until:%d %B %Y}." if event.appeal_until else ""
    applied = (
        f" Applied in snapshot {event.last_applied_in}."
        if event.last_applied_in
        else " Not yet in a snapshot."
    )
    return dbc.Card(
        dbc.CardBody(
            [
                html.H3(f"Event {event.id}: {event.state}", className="h6"),
                html.P(event.explanation),
                html.P(f"Batch {event.batch_id}, line {record.line}.{appeal}{applied}", className="small"),
                dbc.Row(
                    [
                        dbc.Col(
                            [
                                html.Strong("The feed's record", className="small"),
                                html.Ul(facts, className="small"),
                            ],
                            md=4,
                        ),
                        dbc.Col(
                            [
                                html.Strong("The registry (evidence)", className="small"),
                                html.Ul(evidence, className="small"),
                            ],
                            md=4,
                        ),
                        dbc.Col(
                            [html.Strong("History", className="small"), html.Ul(history, className="small")],
                            md=4,
                        ),
                    ]
                ),
            ]
        ),
        id="in-event",
    )


@callback(
    Output(ids.IN_ACTION_OUT, "children"),
    *[Input(a, "n_clicks") for a in ACTION_IDS],
    State(ids.IN_EVENTS, "selectedRows"),
    State(ids.IN_COMMENT, "value"),
    prevent_initial_call=True,
)
def act(*values):
    *_clicks, rows, comment = values
    action = (ctx.triggered_id or "").removeprefix("in-")
    if action not in ids.IN_ACTIONS:
        return no_update
    event_id = _selected(rows)
    if event_id is None:
        return dbc.Alert("Choose an event in the table first.", color="warning")
    integration, principal = Integration(), current_principal()
    comment = comment if isinstance(comment, str) else None
    try:
        if action in ("confirm", "resurvey", "dismiss"):
            event = integration.review(principal, event_id, action, comment)
        elif action == "appeal":
            event = integration.appeal(principal, event_id, comment or "")
        elif action in ("uphold", "reject_appeal"):
            event = integration.decide_appeal(principal, event_id, action == "uphold", comment or "")
        else:
            event = integration.reverse(principal, event_id, comment or "")
    except IntegrationError as exc:
        return dbc.Alert(str(exc), color="danger")
    return dbc.Alert(f"Event {event.id} is {event.state}.", color="success")


@callback(
    Output(ids.IN_UPLOAD_NAME, "children"),
    Input(ids.IN_UPLOAD, "filename"),
    prevent_initial_call=True,
)
def chosen_file(filename):
    return f"Chosen: {filename}" if isinstance(filename, str) else None


@callback(
    Output(ids.IN_LOAD_OUT, "children"),
    Input(ids.IN_LOAD, "n_clicks"),
    State(ids.IN_FEED, "value"),
    State(ids.IN_UPLOAD, "contents"),
    State(ids.IN_UPLOAD, "filename"),
    prevent_initial_call=True,
)
def load(n, feed, contents, filename):
    if not n:
        return no_update
    if not isinstance(feed, str):
        return dbc.Alert("Choose the feed the file comes from.", color="warning")
    content = None
    if isinstance(contents, str) and "," in contents:
        try:
            content = base64.b64decode(contents.split(",", 1)[1], validate=True)
        except (binascii.Error, ValueError):
            content = None
    try:
        report = Integration().load_upload(
            current_principal(), feed, filename if isinstance(filename, str) else "", content
        )
    except BatchRejected as exc:
        return dbc.Alert(
            [
                html.P(str(exc).split(";")[0] + "; nothing was loaded."),
                html.Pre(exc.report(), className="small mb-0"),
            ],
            color="danger",
            id="in-rejected",
        )
    except IntegrationError as exc:
        return dbc.Alert(str(exc), color="danger")
    return dbc.Alert(report.summary(), color="success", id="in-loaded")


@callback(
    Output(ids.IN_OUTLIERS, "children"),
    Input(ids.IN_OUTLIER_GO, "n_clicks"),
    State(ids.IN_OUTLIER_AREA, "value"),
    prevent_initial_call=True,
)
def outliers(n, area):
    if not n or _mis() is None:
        return components.refusal(REFUSED) if n else no_update
    from dashboard.oversight import governed_gateway

    area = area.strip() if isinstance(area, str) and area.strip() else None
    try:
        rows = governed_gateway().outliers(current_actor(), area, 50)
    except Exception as exc:  # noqa: BLE001 — a refusal or a missing table, said plainly
        return dbc.Alert(str(exc), color="warning")
    feeds = Integration().contradictions(_mis(), 20)
    contradicting = (
        dbc.Table(
            [
                html.Thead(
                    html.Tr([html.Th(h) for h in ("Household", "District", "Feeds", "PMT", "For example")])
                ),
                html.Tbody(
                    [
                        html.Tr(
                            [
                                html.Td(r["household_id"]),
                                html.Td(r["district_code"]),
                                html.Td(r["contradictions"]),
                                html.Td("" if r["pmt_score"] is None else f"{r['pmt_score']:.1f}"),
                                html.Td(r["example"]),
                            ]
                        )
                        for r in feeds
                    ]
                ),
            ],
            size="sm",
            striped=True,
            responsive=True,
            id="in-contradictions-table",
        )
        if feeds
        else html.P("No feed contradicts the survey yet.", className="small")
    )
    heading = html.H3("Feeds that contradict the survey", className="h6 mt-3")
    if not rows:
        return html.Div([html.P("No outlier here.", className="small"), heading, contradicting])
    return html.Div(
        [
            dbc.Table(
                [
                    html.Thead(
                        html.Tr([html.Th(h) for h in ("Household", "District", "PMT", "Implied", "Why")])
                    ),
                    html.Tbody(
                        [
                            html.Tr(
                                [
                                    html.Td(r.get("household_id")),
                                    html.Td(r.get("district_code")),
                                    html.Td(f"{r.get('pmt_score', 0):.1f}"),
                                    html.Td(f"{r.get('implied_score', 0):.1f}"),
                                    html.Td(r.get("reasons")),
                                ]
                            )
                            for r in rows
                        ]
                    ),
                ],
                size="sm",
                striped=True,
                responsive=True,
                id="in-outliers-table",
            ),
            heading,
            contradicting,
        ]
    )
