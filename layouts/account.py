"""The password page: replace a temporary password (after a reset, or credentials collected from a data
request) or change one's own. A plain HTML form posted to the server with its CSRF token."""

from __future__ import annotations

import dash
import dash_bootstrap_components as dbc
from dash import dcc, html

from dashboard.i18n import N_, _, page_title

dash.register_page(
    __name__,
    path="/account/password",
    title=page_title(N_("Password — NSER Insight")),
    tier="public",
    name="Password",
)


def _password(name: str, label: str, autocomplete: str) -> list:
    return [
        dbc.Label(label, html_for=f"pw-{name}"),
        dcc.Input(
            id=f"pw-{name}",
            name=name,
            type="password",
            className="form-control mb-3",
            autoComplete=autocomplete,
            required=True,
        ),
    ]


def layout(next: str = "/", error: str | None = None, csrf: str = "", who=None, **_ignored) -> html.Div:
    if who is None:
        body = [
            html.H1(_("Password"), className="h4 mb-3"),
            html.P([_("Log in first:"), " ", html.A(_("log in"), href="/login?next=/account/password")]),
        ]
    else:
        body = [
            html.H1(_("Choose your password"), className="h4 mb-3"),
            html.P(
                _("Your password is temporary: choose your own before you go on (at least 12 characters).")
                if who.must_change_password
                else _("Change the password of your account."),
                className="text-body-secondary small",
            ),
            dbc.Alert(_(error), color="danger", id="pw-error") if error else None,
            html.Form(
                [
                    dcc.Input(type="hidden", name="csrf_token", value=csrf),
                    dcc.Input(type="hidden", name="next", value=next),
                    *_password("current", _("Current (temporary) password"), "current-password"),
                    *_password("new", _("New password"), "new-password"),
                    *_password("confirm", _("New password again"), "new-password"),
                    html.Button(
                        _("Save the password"),
                        type="submit",
                        className="btn btn-primary w-100",
                        id="pw-submit",
                    ),
                ],
                method="POST",
                action="/auth/password",
            ),
        ]
    return dbc.Row(
        dbc.Col(dbc.Card(dbc.CardBody(body)), xs=12, sm=10, md=6, lg=4), justify="center", className="mt-4"
    )
