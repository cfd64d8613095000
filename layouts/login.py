"""Login page: a plain HTML form posted to the server with its CSRF token."""

from __future__ import annotations

import dash
import dash_bootstrap_components as dbc
from dash import dcc, html

from dashboard.i18n import N_, _, page_title

dash.register_page(
    __name__, path="/login", title=page_title(N_("Log in — NSER Insight")), tier="public", name="Log in"
)


def layout(next: str = "/explore", error: str | None = None, csrf: str = "", **_ignored) -> html.Div:
    return dbc.Row(
        dbc.Col(
            dbc.Card(
                dbc.CardBody(
                    [
                        html.H1(_("Log in"), className="h4 mb-3"),
                        html.P(
                            _(
                                "For planners, researchers and the BISP MIS team. The public pages need no login."
                            ),
                            className="text-body-secondary small",
                        ),
                        dbc.Alert(_(error), color="danger", id="login-error") if error else None,
                        html.Form(
                            [
                                dcc.Input(type="hidden", name="csrf_token", value=csrf),
                                dcc.Input(type="hidden", name="next", value=next),
                                dbc.Label(_("Username"), html_for="login-username"),
                                dcc.Input(
                                    id="login-username",
                                    name="username",
                                    type="text",
                                    className="form-control mb-3",
                                    autoComplete="username",
                                    required=True,
                                ),
                                dbc.Label(_("Password"), html_for="login-password"),
                                dcc.Input(
                                    id="login-password",
                                    name="password",
                                    type="password",
                                    className="form-control mb-3",
                                    autoComplete="current-password",
                                    required=True,
                                ),
                                html.Button(
                                    _("Log in"),
                                    type="submit",
                                    className="btn btn-primary w-100",
                                    id="login-submit",
                                ),
                            ],
                            method="POST",
                            action="/auth/login",
                        ),
                    ]
                )
            ),
            xs=12,
            sm=10,
            md=6,
            lg=4,
        ),
        justify="center",
        className="mt-4",
    )
