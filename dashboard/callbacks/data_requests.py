"""Data request callbacks: the public form and status page, and the forums' queue. Who may decide is
checked in dashboard.data_requests, not here."""

from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import Input, Output, State, callback, ctx, html, no_update

from dashboard.data_requests import DataRequests, RequestError, is_overdue, load_rules
from dashboard.web import current_principal
from layouts import components, ids

FORM_FIELDS = (
    "organisation_name",
    "organisation_type",
    "address",
    "registration_body",
    "registration_number",
    "focal_person",
    "email",
    "phone",
    "purpose",
    "intended_use",
    "data_type",
    "frequency",
    "granularity",
    "nda_accepted",
    "report_slug",
)


@callback(Output("rq-report_slug", "options"), Input("rq-report_slug", "id"))
def published_reports(_):
    """The public catalogue, for requesters whose statistics are already published."""
    from dashboard.reports import Reports

    return [{"label": r.design["title"], "value": r.slug} for r in Reports().catalogue()]


@callback(
    Output(ids.RQ_RESULT, "children"),
    Input(ids.RQ_SUBMIT, "n_clicks"),
    *[State(f"rq-{f}", "value") for f in FORM_FIELDS],
    prevent_initial_call=True,
)
def submit(n, *values):
    if not n:
        return no_update
    try:
        reference, key, route, due = DataRequests().submit(dict(zip(FORM_FIELDS, values, strict=True)))
    except RequestError as exc:
        return dbc.Alert(str(exc), color="danger")
    if route.forum == "none":
        slug = dict(zip(FORM_FIELDS, values, strict=True)).get("report_slug")
        body = [
            html.P(f"{reference}: no authorization is needed — {route.why}."),
            html.P(["Open it here: ", html.A(f"/reports/{slug}", href=f"/reports/{slug}")]),
        ]
    else:
        body = [
            html.P([html.Strong(f"Reference {reference}"), f" — sent to the {route.forum_label}."]),
            html.P(route.why, className="small"),
            html.P(f"Expected answer by {due:%A %d %B %Y}."),
            html.P(["Status key (keep it; it shows your request's status): ", html.Code(key, id="rq-key")]),
        ]
    return dbc.Alert(body, color="success", id="rq-done")


@callback(
    Output(ids.RQ_STATUS_OUT, "children"),
    Input(ids.RQ_STATUS_GO, "n_clicks"),
    State(ids.RQ_STATUS_REF, "value"),
    State(ids.RQ_STATUS_KEY, "value"),
    prevent_initial_call=True,
)
def status(n, reference, key):
    if not n:
        return no_update
    try:
        s = DataRequests().status((reference or "").strip(), (key or "").strip())
    except RequestError as exc:
        return dbc.Alert(str(exc), color="warning")
    return html.Div(
        [
            html.P([html.Strong(s["reference"]), f": {s['state']} — {s['forum']}"]),
            html.P(f"{s['service']}, due {s['due_on']:%d %B %Y}"),
            html.P(f"Comment: {s['comment']}") if s["comment"] else None,
        ],
        id="rq-status",
    )


def queue_table(principal):
    rows = DataRequests().queue(principal)
    forums = load_rules()["forums"]
    if not rows:
        return html.P("No request is waiting.", className="text-body-secondary")
    import datetime as dt

    today = dt.date.today()
    return dbc.Table(
        [
            html.Thead(
                html.Tr([html.Th(h) for h in ("Reference", "Organisation", "Data", "Forum", "Due", "Use")])
            ),
            html.Tbody(
                [
                    html.Tr(
                        [
                            html.Td(r.reference),
                            html.Td(f"{r.organisation_name} ({r.organisation_type})"),
                            html.Td(f"{r.data_type}: {r.granularity}"),
                            html.Td(forums[r.forum]),
                            html.Td(
                                [
                                    f"{r.due_on:%d %b %Y}",
                                    " ",
                                    html.Span("overdue", className="badge text-bg-danger"),
                                ]
                                if is_overdue(r.data_type, r.submitted_at.date(), today)
                                else f"{r.due_on:%d %b %Y}"
                            ),
                            html.Td(r.intended_use),
                        ]
                    )
                    for r in rows
                ]
            ),
        ],
        size="sm",
        striped=True,
        responsive=True,
        id="rqa-table",
    )


@callback(
    Output(ids.RQA_QUEUE, "children"),
    Output(ids.RQA_OUT, "children"),
    Input(ids.RQA_APPROVE, "n_clicks"),
    Input(ids.RQA_REJECT, "n_clicks"),
    State(ids.RQA_REF, "value"),
    State(ids.RQA_ROLE, "value"),
    State(ids.RQA_SCOPE, "value"),
    State(ids.RQA_COMMENT, "value"),
)
def decide(_approve, _reject, reference, role, scope, comment):
    principal = current_principal()
    if principal is None or principal.tier != "mis":
        return components.refusal("Only BISP staff see the request queues."), None
    message = None
    if ctx.triggered_id in (ids.RQA_APPROVE, ids.RQA_REJECT):
        try:
            decision = DataRequests().decide(
                principal,
                (reference or "").strip(),
                ctx.triggered_id == ids.RQA_APPROVE,
                comment,
                {"record_role": role, "scope": (scope or "").strip() or None},
            )
            if decision.provisioned:
                p = decision.provisioned
                message = dbc.Alert(
                    [
                        f"{decision.reference} approved. User {p['user']} ({p['record_role']}) created for "
                        f"{p['organisation']} until {p['expires']}; temporary password: ",
                        html.Code(decision.temporary_password, id="rqa-password"),
                        " (hand it over securely).",
                    ],
                    color="success",
                )
            else:
                message = dbc.Alert(f"{decision.reference} {decision.state}.", color="warning")
        except RequestError as exc:
            message = dbc.Alert(str(exc), color="danger")
    return queue_table(principal), message
