"""Data request callbacks: the public form and status page, and the forums' queue. Who may decide is
checked in dashboard.data_requests, not here."""

from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import Input, Output, State, callback, ctx, html, no_update

from dashboard import i18n
from dashboard.data_requests import DataRequests, RequestError, Upload, load_rules
from dashboard.i18n import N_, _, translated
from dashboard.web import client_ip, current_principal
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
    "channel",
    "callback_url",
)
# a request's states as the requester and the forums read them
STATES = {
    "submitted": N_("submitted"),
    "deciding": N_("deciding"),
    "approved": N_("approved"),
    "rejected": N_("rejected"),
    "closed": N_("closed"),
}


def _state(state: str) -> str:
    return _(STATES.get(state, state))


def _and(items: list[str]) -> str:
    """One or two grants in a sentence: "A" or "A and B"."""
    if len(items) == 2:
        return translated("{first} and {second}", first=items[0], second=items[1])
    return "".join(items)


@callback(Output("rq-report_slug", "options"), Input("rq-report_slug", "id"))
def published_reports(_):
    """The public catalogue, for requesters whose statistics are already published."""
    from dashboard.reports import Reports

    return [{"label": r.design["title"], "value": r.slug} for r in Reports().catalogue()]


def _text(value) -> str:
    """A text input's value, trimmed; anything that is not text (a crafted callback) becomes "" so the
    store answers with its own clear refusal."""
    return value.strip() if isinstance(value, str) else ""


def _upload(contents: str | None, filename: str | None) -> Upload | None:
    """dcc.Upload's data URL as bytes (None when nothing was chosen or it is not base64)."""
    import base64
    import binascii

    if not contents or "," not in contents:
        return None
    try:
        return Upload(filename or "signed-nda", base64.b64decode(contents.split(",", 1)[1], validate=True))
    except (binascii.Error, ValueError):
        return None


@callback(
    Output(ids.RQ_NDA_NAME, "children"),
    Input(ids.RQ_NDA_UPLOAD, "filename"),
    prevent_initial_call=True,
)
def chosen_nda(filename):
    return translated("Chosen: {filename}", filename=filename) if filename else None


@callback(
    Output(ids.RQ_RESULT, "children"),
    Input(ids.RQ_SUBMIT, "n_clicks"),
    *[State(f"rq-{f}", "value") for f in FORM_FIELDS],
    State(ids.RQ_NDA_UPLOAD, "contents"),
    State(ids.RQ_NDA_UPLOAD, "filename"),
    prevent_initial_call=True,
)
def submit(n, *values):
    if not n:
        return no_update
    *fields, contents, filename = values
    form = dict(zip(FORM_FIELDS, fields, strict=True))
    nda = _upload(contents, filename)
    try:
        reference, key, route, due = DataRequests().submit(
            form, documents={"signed_nda": nda} if nda else None
        )
    except RequestError as exc:
        return dbc.Alert(_(str(exc)), color="danger")
    if route.forum == "none":
        slug = form.get("report_slug")
        body = [
            html.P(
                translated(
                    "{reference}: no authorization is needed — {why}.", reference=reference, why=_(route.why)
                )
            ),
            html.P([_("Open it here:") + " ", html.A(f"/reports/{slug}", href=f"/reports/{slug}")]),
        ]
    else:
        body = [
            html.P(
                [
                    html.Strong(translated("Reference {reference}", reference=reference)),
                    " " + translated("— sent to the {forum}.", forum=_(route.forum_label)),
                ]
            ),
            html.P(_(route.why), className="small"),
            html.P(translated("Expected answer by {date}.", date=i18n.date_text(due, "%A %d %B %Y"))),
            html.P(
                [
                    _(
                        "Status key (keep it: with the reference it shows your request's status and, once "
                        "approved, gives you your credentials):"
                    )
                    + " ",
                    html.Code(key, id="rq-key"),
                ]
            ),
        ]
    return dbc.Alert(body, color="success", id="rq-done")


def _status_view(s: dict) -> html.Div:
    granted = s["granted"]
    lines = [
        html.P([html.Strong(s["reference"]), f": {_state(s['state'])} — {_(s['forum'])}"]),
        html.P(
            translated(
                "{service}, due {date}", service=_(s["service"]), date=i18n.date_text(s["due_on"], "%d %B %Y")
            )
        ),
        html.P(translated("Comment: {comment}", comment=s["comment"])) if s["comment"] else None,
    ]
    for d in s["documents"]:
        lines.append(
            html.P(
                translated(
                    "Received: {filename} (SHA-256 {digest}…)",
                    filename=d["filename"],
                    digest=d["sha256"][:16],
                ),
                className="mb-1",
            )
        )
    if granted:
        what = []
        if granted.get("user"):
            what.append(
                translated(
                    "portal user {user} (records: {role})", user=granted["user"], role=granted["record_role"]
                )
            )
        if granted.get("api_client"):
            what.append(
                translated(
                    "API client {client} ({scopes})",
                    client=granted["api_client"],
                    scopes=", ".join(granted["api_scopes"]),
                )
            )
        lines.append(
            html.P(
                translated(
                    "Granted: {granted}, area {area}, until {expires}.",
                    granted=_and(what),
                    area=granted["scope"],
                    expires=granted["expires"],
                )
                if granted.get("scope")
                else translated(
                    "Granted: {granted}, until {expires}.", granted=_and(what), expires=granted["expires"]
                )
            )
        )
        lines.append(
            html.P(
                translated(
                    "Credentials collected on {date}.",
                    date=i18n.date_text(s["credentials_collected_at"], "%d %B %Y"),
                )
                if s["credentials_collected_at"]
                else _("Your credentials are ready: choose Collect credentials (they are shown once).")
            )
        )
    return html.Div(lines, id="rq-status")


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
        s = DataRequests().status(_text(reference), _text(key))
    except RequestError as exc:
        return dbc.Alert(_(str(exc)), color="warning")
    return _status_view(s)


@callback(
    Output(ids.RQ_CREDENTIALS, "children"),
    Input(ids.RQ_COLLECT, "n_clicks"),
    State(ids.RQ_STATUS_REF, "value"),
    State(ids.RQ_STATUS_KEY, "value"),
    prevent_initial_call=True,
)
def collect(n, reference, key):
    """The requester's credentials, once, to the holder of the status key (checked in DataRequests)."""
    if not n:
        return no_update
    try:
        got = DataRequests().collect_credentials(_text(reference), _text(key), ip=client_ip())
    except RequestError as exc:
        return dbc.Alert(_(str(exc)), color="warning")
    rows = []
    if got.get("username"):
        rows += [
            html.Dt(_("Portal username")),
            html.Dd(html.Code(got["username"], id="rq-cred-user")),
            html.Dt(_("Temporary password (you choose your own at the first login)")),
            html.Dd(html.Code(got["password"], id="rq-cred-password")),
        ]
    if got.get("client_id"):
        rows += [
            html.Dt(_("API client id")),
            html.Dd(html.Code(got["client_id"], id="rq-cred-client")),
            html.Dt(_("API client secret")),
            html.Dd(html.Code(got["client_secret"], id="rq-cred-secret")),
        ]
    return dbc.Alert(
        [
            html.P(_("Copy these now: they are shown this once."), className="fw-semibold"),
            html.Dl(rows, className="mb-1"),
            html.P(translated("Access until {date}.", date=got["expires"]), className="mb-0"),
        ],
        color="success",
        id="rq-cred",
    )


def queue_table(principal):
    requests = DataRequests()
    rows = requests.queue(principal)
    rules = load_rules()
    forums, channels = rules["forums"], rules["channels"]
    if not rows:
        return html.P(_("No request is waiting."), className="text-body-secondary")
    import datetime as dt

    today = dt.date.today()

    def organisation(r):
        exists, changes = requests.organisation_changes(r)
        note = (
            _("new organisation")
            if not exists
            else ("; ".join(f"{k}: {a} → {b}" for k, (a, b) in changes.items()) or _("known organisation"))
        )
        return [f"{r.organisation_name} ({r.organisation_type})", html.Br(), html.Small(note)]

    def due(r):
        late = r.due_on < today  # the due date the requester was given at submission
        return (
            [
                i18n.date_text(r.due_on, "%d %b %Y"),
                " ",
                html.Span(_("overdue"), className="badge text-bg-danger"),
            ]
            if late
            else i18n.date_text(r.due_on, "%d %b %Y")
        )

    def nda(r):
        if not r.nda_signed:
            return "—"
        return html.A(_("signed NDA"), href=f"/admin/requests/{r.reference}/signed-nda", className="small")

    return dbc.Table(
        [
            html.Thead(
                html.Tr(
                    [
                        html.Th(h)
                        for h in (
                            _("Reference"),
                            _("Organisation"),
                            _("Data"),
                            _("Delivery"),
                            _("Forum"),
                            _("Due"),
                            _("Use"),
                            _("NDA"),
                        )
                    ]
                )
            ),
            html.Tbody(
                [
                    html.Tr(
                        [
                            html.Td(r.reference),
                            html.Td(organisation(r)),
                            html.Td(f"{r.data_type}: {r.granularity}"),
                            html.Td(_(channels[r.channel])),
                            html.Td(_(forums[r.forum])),
                            html.Td(due(r)),
                            html.Td(r.intended_use),
                            html.Td(nda(r)),
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


def outbox_list(principal):
    from dashboard.notifications import Outbox

    if principal is None or principal.tier != "mis":
        return None
    outbox = Outbox()
    recent = outbox.recent(10)
    waiting = outbox.waiting()
    head = html.P(
        translated("{n} message(s) waiting to be sent.", n=waiting)
        if waiting
        else _("Every message was sent."),
        className="small mb-1",
    )
    arrow = "←" if i18n.direction() == "rtl" else "→"  # from the time to the address, in reading order
    items = [
        html.Li(
            [
                f"{i18n.date_text(n.created_at, '%d %b %H:%M')} {arrow} {n.to_address}: ",
                components.english(n.subject),  # the mail as it was sent
                " — ",
                html.Span(_("sent"), className="text-success")
                if n.sent_at
                else html.Span(
                    [
                        _("waiting"),
                        " (",
                        components.said(n.last_error) if n.last_error else _("not tried yet"),
                        ")",
                    ],
                    className="text-danger",
                ),
            ]
        )
        for n in recent
    ]
    return [head, html.Ul(items, className="small")]


@callback(
    Output(ids.RQA_QUEUE, "children"),
    Output(ids.RQA_OUT, "children"),
    Output(ids.RQA_OUTBOX, "children"),
    Input(ids.RQA_APPROVE, "n_clicks"),
    Input(ids.RQA_REJECT, "n_clicks"),
    State(ids.RQA_REF, "value"),
    State(ids.RQA_ROLE, "value"),
    State(ids.RQA_SCOPE, "value"),
    State(ids.RQA_SCOPES, "value"),
    State(ids.RQA_DAYS, "value"),
    State(ids.RQA_COMMENT, "value"),
)
def decide(_approve, _reject, reference, role, scope, api_scopes, days, comment):
    principal = current_principal()
    if principal is None or principal.tier != "mis":
        return components.refusal(_("Only BISP staff see the request queues.")), None, None
    message = None
    if ctx.triggered_id in (ids.RQA_APPROVE, ids.RQA_REJECT):
        try:
            decision = DataRequests().decide(
                principal,
                _text(reference),
                ctx.triggered_id == ids.RQA_APPROVE,
                comment,
                {
                    "record_role": role,
                    "scope": _text(scope) or None,
                    "api_scopes": api_scopes,  # None: all the data type allows; [] (cleared): none
                    "days": days,
                },
            )
            if decision.provisioned:
                p = decision.provisioned
                granted = []
                if p["user"]:
                    granted.append(
                        translated("portal user {user} ({role})", user=p["user"], role=p["record_role"])
                    )
                if p["api_client"]:
                    granted.append(
                        translated(
                            "API client {client} ({scopes})",
                            client=p["api_client"],
                            scopes=", ".join(p["api_scopes"]),
                        )
                    )
                message = dbc.Alert(
                    translated(
                        "{reference} approved: {granted} for {organisation} until {expires}. The requester "
                        "collects the credentials from the status page; nobody else sees them.",
                        reference=decision.reference,
                        granted=_and(granted),
                        organisation=p["organisation"],
                        expires=p["expires"],
                    ),
                    color="success",
                )
            else:
                message = dbc.Alert(
                    translated(
                        "{reference} {state}.", reference=decision.reference, state=_state(decision.state)
                    ),
                    color="warning",
                )
        except RequestError as exc:
            message = dbc.Alert(_(str(exc)), color="danger")
    return queue_table(principal), message, outbox_list(principal)
