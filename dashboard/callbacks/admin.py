"""MIS administration callbacks. Each one checks the MIS tier itself: a callback is a public endpoint."""

from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import Input, Output, State, callback, html

from dashboard import governance, i18n
from dashboard.accounts import AccountError, Accounts
from dashboard.audit import AccessLog
from dashboard.i18n import N_, _, translated
from dashboard.metering import Metering
from dashboard.web import current_principal
from layouts import ids

DENIED = N_("MIS access is required.")
# column headers of the grids: the English ones are what AG Grid itself made of the field names
USER_COLUMNS = {
    "username": N_("Username"),
    "name": N_("Name"),
    "organisation": N_("Organisation"),
    "tier": N_("Tier"),
    "record_role": N_("Record role"),
    "duties": N_("Duties"),
    "scope": N_("Scope"),
    "status": N_("Status"),
}
AUDIT_COLUMNS = {
    "seq": N_("No."),
    "at": N_("At"),
    "kind": N_("Kind"),
    "outcome": N_("Outcome"),
    "user": N_("User"),
    "organisation": N_("Organisation"),
    "ip": N_("IP address"),
    "action": N_("Action"),
    "cells": N_("Cells"),
    "rows": N_("Rows"),
    "reason": N_("Reason"),
}
FEEDBACK_COLUMNS = {
    "received": N_("Received"),
    "client": N_("Client"),
    "type": N_("Type"),
    "household": N_("Household"),
    "member": N_("Member"),
    "record": N_("Record"),
    "status": N_("Status"),
}
LTR_COLUMNS = {"at", "ip", "received"}  # dates and addresses read left to right inside an Urdu grid
# what people typed (names, organisations, user names, area codes): shown as written, in its own direction
DATA_COLUMNS = {"username", "name", "organisation", "scope", "user", "client"}
# the codes of the users table, in the reader's words (governance.yaml's duties have their names there)
TIERS = {"business": N_("business"), "mis": N_("MIS")}
ROLES = {"none": N_("none"), "basic": N_("basic"), "standard": N_("standard"), "power": N_("power")}
STATUSES = {"active": N_("active"), "locked": N_("locked"), "disabled": N_("disabled")}
# the units of governance.yaml's services, counted
UNITS = {"row": N_("rows"), "report": N_("reports"), "cell": N_("cells")}


def _columns(headers: dict[str, str]) -> list[dict]:
    def look(k: str) -> dict:
        if k in LTR_COLUMNS:
            return {"cellClass": "ltr"}
        if k in DATA_COLUMNS:
            return {"cellClass": "user-data", "cellStyle": {"unicodeBidi": "plaintext"}}
        return {}

    return [{"field": k, "headerName": _(v), **look(k)} for k, v in headers.items()]


def _word(table: dict[str, str], code: str | None) -> str:
    return _(table[code]) if code in table else code or ""


def _is_mis() -> bool:
    p = current_principal()
    return p is not None and p.tier == "mis"


@callback(
    Output(ids.AD_USERS, "columnDefs"),
    Output(ids.AD_USERS, "rowData"),
    Output("ad-org", "options"),
    Output(ids.AD_STATEMENT_ORG, "options"),
    Input(ids.AD_NEW_USER_OUT, "children"),
)
def users_table(_changed):
    if not _is_mis():
        return [], [], [], []
    acc = Accounts()
    duties = governance.load()["approval_duties"]
    rows = [
        {
            "username": u.username,
            "name": u.full_name,
            "organisation": o.name,
            "tier": _word(TIERS, u.tier),
            "record_role": _word(ROLES, u.record_role),
            "duties": "، ".join(_(duties.get(d, d)) for d in u.duties or [])
            if i18n.direction() == "rtl"
            else ", ".join(u.duties or []),
            "scope": u.scope or "",
            "status": _word(STATUSES, u.status),
        }
        for u, o in acc.users()
    ]
    cols = _columns(USER_COLUMNS)
    orgs = [{"label": o.name, "value": o.name} for o in acc.organisations()]
    return cols, rows, orgs, orgs


@callback(
    Output(ids.AD_NEW_USER_OUT, "children"),
    Input(ids.AD_NEW_USER, "n_clicks"),
    State("ad-username", "value"),
    State("ad-fullname", "value"),
    State("ad-org", "value"),
    State("ad-tier", "value"),
    State("ad-role", "value"),
    State("ad-scope", "value"),
    State("ad-password", "value"),
    prevent_initial_call=True,
)
def add_user(_n_clicks, username, full_name, org, tier, role, scope, password):
    principal = current_principal()
    if principal is None or principal.tier != "mis":
        return dbc.Alert(_(DENIED), color="danger")
    try:
        Accounts().add_user(
            username or "",
            full_name or "",
            org or "",
            password or "",
            tier or "business",
            role or "none",
            [],
            scope or None,
            actor=principal.username,
        )
    except AccountError as exc:
        return dbc.Alert(_(str(exc)), color="warning")
    return dbc.Alert(translated("User {username} added.", username=username), color="success")


@callback(
    Output(ids.AD_AUDIT, "columnDefs"),
    Output(ids.AD_AUDIT, "rowData"),
    Output(ids.AD_VERIFY_OUT, "children"),
    Input(ids.AD_VERIFY, "n_clicks"),
)
def audit_view(n_clicks):
    if not _is_mis():
        return [], [], None
    log = AccessLog()
    rows = [
        {
            "seq": r.seq,
            "at": r.at.isoformat(timespec="seconds"),
            "kind": r.kind,
            "outcome": r.outcome,
            "user": r.username,
            "organisation": r.organisation,
            "ip": r.ip,
            "action": r.action,
            "cells": r.cells,
            "rows": r.rows,
            "reason": r.reason,
        }
        for r in log.rows()
    ]
    rows = rows[-500:][::-1]
    cols = _columns(AUDIT_COLUMNS)
    verdict = None
    if n_clicks:
        ok, message = log.verify()
        verdict = dbc.Alert(_(message), color="success" if ok else "danger")
    return cols, rows, verdict


@callback(
    Output(ids.AD_STATEMENT, "children"),
    Input(ids.AD_STATEMENT_ORG, "value"),
    Input(ids.AD_STATEMENT_MONTH, "value"),
)
def statement(org, month):
    if not _is_mis():
        return _(DENIED)
    if not org or not month:
        return html.P(_("Choose an organisation and a month."), className="text-body-secondary")
    try:
        stmt = Metering().statement(org, month)
    except ValueError as exc:
        return dbc.Alert(_(str(exc)), color="warning")
    rows = [
        html.Tr(
            [
                html.Td(_(x["label"])),
                html.Td(
                    f"{i18n.group(x['units'])} {_(UNITS.get(x['unit'], x['unit'] + 's'))}",
                    className="text-end",
                ),
                html.Td(i18n.group(x["rate"], 2), className="text-end"),
                html.Td(x["gratis"] or ""),
                html.Td(i18n.group(x["amount"], 2), className="text-end"),
            ]
        )
        for x in stmt["lines"]
    ]
    rows.append(
        html.Tr(
            [
                html.Th(_("Total")),
                html.Th(i18n.group(stmt["total_units"]), className="text-end"),
                html.Th(""),
                html.Th(""),
                html.Th(f"{i18n.group(stmt['total_amount'], 2)} {_('PKR')}", className="text-end"),
            ]
        )
    )
    head = html.Thead(
        html.Tr(
            [
                html.Th(_("Service")),
                html.Th(_("Units")),
                html.Th(_("Rate (PKR)")),
                html.Th(_("Gratis")),
                html.Th(_("Amount (PKR)")),
            ]
        )
    )
    return dbc.Table([head, html.Tbody(rows)], size="sm", striped=True)


@callback(
    Output(ids.AD_FEEDBACK, "columnDefs"),
    Output(ids.AD_FEEDBACK, "rowData"),
    Input(ids.AD_FEEDBACK, "id"),
)
def partner_feedback(_id):
    """What partners posted back (MIS only): who, when, what type, which household, the record."""
    if not _is_mis():
        return [], []
    from dashboard.feedback import staged

    rows = [
        {
            "received": f"{o.received_at:%Y-%m-%d %H:%M}",
            "client": o.client_id,
            "type": o.type,
            "household": o.household_id,
            "member": o.member_id,
            "record": ", ".join(f"{k}: {v}" for k, v in o.payload.items()),
            "status": o.status,
        }
        for o in staged(limit=500)
    ]
    cols = _columns(FEEDBACK_COLUMNS)
    return cols, rows


@callback(
    Output(ids.AD_NAMES, "children"),
    Input(ids.AD_NAME_SAVE, "n_clicks"),
    State(ids.AD_NAME_CODE, "value"),
    State(ids.AD_NAME_UR, "value"),
    State(ids.AD_NAME_REASON, "value"),
)
def place_names(n, code, name_ur, reason):
    """Corrections of Urdu place names (MIS; checked and logged in dashboard.place_names)."""
    from dashboard import place_names as names

    if not _is_mis():
        return dbc.Alert(_(DENIED), color="warning")
    message = None
    if n:
        try:
            done = names.correct(current_principal(), code, name_ur, reason)
            message = dbc.Alert(
                f"{done['code']} {done['english']}: {done['previous'] or _('(none)')} → {done['name_ur']}",
                color="success",
                id="admin-name-done",
            )
        except names.PlaceNameError as exc:
            message = dbc.Alert(_(str(exc)), color="danger")
    rows = names.history(limit=20)
    table = dbc.Table(
        [
            html.Thead(
                html.Tr(
                    [html.Th(h) for h in (_("When"), _("Code"), _("Before"), _("Now"), _("By"), _("Why"))]
                )
            ),
            html.Tbody(
                [
                    html.Tr(
                        [
                            html.Td(html.Span(f"{c.corrected_at:%d %b %Y %H:%M}", className="ltr")),
                            html.Td(c.code),
                            html.Td(c.previous or "—", lang="ur"),
                            html.Td(c.name_ur, lang="ur"),
                            html.Td(c.corrected_by),
                            html.Td(c.reason),
                        ]
                    )
                    for c in rows
                ]
            ),
        ],
        size="sm",
        striped=True,
        id="admin-names-table",
    )
    still = len(names.missing())
    return [
        message,
        html.P(
            translated("{n} unit(s) still have no Urdu name (`nser names missing`).", n=i18n.group(still)),
            className="small",
        ),
        table,
    ]
