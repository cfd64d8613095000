"""MIS administration callbacks. Each one checks the MIS tier itself: a callback is a public endpoint."""

from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import Input, Output, State, callback, html

from dashboard.accounts import AccountError, Accounts
from dashboard.audit import AccessLog
from dashboard.metering import Metering
from dashboard.web import current_principal
from layouts import ids

DENIED = "MIS access is required."


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
def users_table(_):
    if not _is_mis():
        return [], [], [], []
    acc = Accounts()
    rows = [
        {
            "username": u.username,
            "name": u.full_name,
            "organisation": o.name,
            "tier": u.tier,
            "record_role": u.record_role,
            "duties": ", ".join(u.duties or []),
            "scope": u.scope or "",
            "status": u.status,
        }
        for u, o in acc.users()
    ]
    cols = [
        {"field": k}
        for k in ("username", "name", "organisation", "tier", "record_role", "duties", "scope", "status")
    ]
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
def add_user(_, username, full_name, org, tier, role, scope, password):
    principal = current_principal()
    if principal is None or principal.tier != "mis":
        return dbc.Alert(DENIED, color="danger")
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
        return dbc.Alert(str(exc), color="warning")
    return dbc.Alert(f"User {username} added.", color="success")


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
    cols = [
        {"field": k}
        for k in (
            "seq",
            "at",
            "kind",
            "outcome",
            "user",
            "organisation",
            "ip",
            "action",
            "cells",
            "rows",
            "reason",
        )
    ]
    verdict = None
    if n_clicks:
        ok, message = log.verify()
        verdict = dbc.Alert(message, color="success" if ok else "danger")
    return cols, rows, verdict


@callback(
    Output(ids.AD_STATEMENT, "children"),
    Input(ids.AD_STATEMENT_ORG, "value"),
    Input(ids.AD_STATEMENT_MONTH, "value"),
)
def statement(org, month):
    if not _is_mis():
        return DENIED
    if not org or not month:
        return html.P("Choose an organisation and a month.", className="text-body-secondary")
    try:
        stmt = Metering().statement(org, month)
    except ValueError as exc:
        return dbc.Alert(str(exc), color="warning")
    rows = [
        html.Tr(
            [
                html.Td(x["label"]),
                html.Td(f"{x['units']:,} {x['unit']}s", className="text-end"),
                html.Td(f"{x['rate']:.2f}", className="text-end"),
                html.Td(x["gratis"] or ""),
                html.Td(f"{x['amount']:,.2f}", className="text-end"),
            ]
        )
        for x in stmt["lines"]
    ]
    rows.append(
        html.Tr(
            [
                html.Th("Total"),
                html.Th(f"{stmt['total_units']:,}", className="text-end"),
                html.Th(""),
                html.Th(""),
                html.Th(f"{stmt['total_amount']:,.2f} PKR", className="text-end"),
            ]
        )
    )
    head = html.Thead(
        html.Tr(
            [
                html.Th("Service"),
                html.Th("Units"),
                html.Th("Rate (PKR)"),
                html.Th("Gratis"),
                html.Th("Amount (PKR)"),
            ]
        )
    )
    return dbc.Table([head, html.Tbody(rows)], size="sm", striped=True)


@callback(
    Output(ids.AD_FEEDBACK, "columnDefs"),
    Output(ids.AD_FEEDBACK, "rowData"),
    Input(ids.AD_FEEDBACK, "id"),
)
def partner_feedback(_):
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
    cols = [{"field": k} for k in ("received", "client", "type", "household", "member", "record", "status")]
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
        return dbc.Alert(DENIED, color="warning")
    message = None
    if n:
        try:
            done = names.correct(current_principal(), code, name_ur, reason)
            message = dbc.Alert(
                f"{done['code']} {done['english']}: {done['previous'] or '(none)'} → {done['name_ur']}",
                color="success",
                id="admin-name-done",
            )
        except names.PlaceNameError as exc:
            message = dbc.Alert(str(exc), color="danger")
    rows = names.history(limit=20)
    table = dbc.Table(
        [
            html.Thead(html.Tr([html.Th(h) for h in ("When", "Code", "Before", "Now", "By", "Why")])),
            html.Tbody(
                [
                    html.Tr(
                        [
                            html.Td(f"{c.corrected_at:%d %b %Y %H:%M}"),
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
        html.P(f"{still} unit(s) still have no Urdu name (`nser names missing`).", className="small"),
        table,
    ]
