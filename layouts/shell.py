"""The frame around every page: navigation by tier, the user's badge, login/logout, the page container."""

from __future__ import annotations

import dash
import dash_bootstrap_components as dbc
from dash import dcc, html

from layouts import ids


def navbar(principal, csrf: str | None) -> dbc.Navbar:
    links = [
        dbc.NavItem(dbc.NavLink("Home", href="/")),
        dbc.NavItem(dbc.NavLink("Districts", href="/district/PK601")),
        dbc.NavItem(dbc.NavLink("Reports", href="/reports")),
        dbc.NavItem(dbc.NavLink("Request data", href="/request")),
    ]
    if principal is not None:
        links.append(dbc.NavItem(dbc.NavLink("Explorer", href="/explore")))
        if principal.tier == "mis" or principal.record_role != "none":
            links.append(dbc.NavItem(dbc.NavLink("Records", href="/records")))
    if principal is not None and principal.tier == "mis":
        links.append(dbc.NavItem(dbc.NavLink("Admin", href="/admin")))
        links.append(dbc.NavItem(dbc.NavLink("Report designer", href="/admin/reports")))
        links.append(dbc.NavItem(dbc.NavLink("Requests", href="/admin/requests")))
        links.append(dbc.NavItem(dbc.NavLink("Integration", href="/admin/integration")))
    if principal is None:
        right = dbc.Nav(
            dbc.NavItem(
                dbc.NavLink(
                    [html.I(className="bi bi-box-arrow-in-right me-1"), "Log in"],
                    href="/login",
                    id="nav-login",
                )
            ),
            navbar=True,
        )
    else:
        badge = html.Span(
            [
                html.I(className="bi bi-person-circle me-1"),
                html.Span(principal.full_name, className="fw-semibold"),
                html.Span(f" · {principal.organisation}", className="d-none d-md-inline"),
                dbc.Badge(
                    principal.tier.upper(),
                    color="danger" if principal.tier == "mis" else "info",
                    className="ms-2",
                ),
            ],
            id=ids.USER_BADGE,
            className="navbar-text me-3 text-white small",
        )
        logout = html.Form(
            [
                dcc.Input(type="hidden", name="csrf_token", value=csrf or ""),
                html.Button("Log out", type="submit", className="btn btn-sm btn-outline-light"),
            ],
            method="POST",
            action="/auth/logout",
            className="d-inline",
        )
        right = html.Div([badge, logout], className="d-flex align-items-center")
    return dbc.Navbar(
        dbc.Container(
            [
                dbc.NavbarBrand([html.I(className="bi bi-bar-chart-line me-2"), "NSER Insight"], href="/"),
                dbc.NavbarToggler(id="nav-toggle"),
                dbc.Collapse(
                    dbc.Nav(links, navbar=True, className="me-auto"), id="nav-collapse", navbar=True
                ),
                right,
            ],
            fluid=True,
        ),
        color="dark",
        dark=True,
        className="mb-3",
        expand="md",
    )


def shell(principal, csrf: str | None) -> html.Div:
    return html.Div(
        [
            dcc.Location(id=ids.URL, refresh="callback-nav"),
            navbar(principal, csrf),
            dbc.Container(dash.page_container, fluid="lg", className="pb-5"),
            html.Footer(
                dbc.Container(
                    html.Small(
                        [
                            "Benazir Income Support Programme — National Socio-Economic Registry. ",
                            html.Span(
                                "Synthetic demonstration registry calibrated to the 2023 census; not real people. ",
                                className="text-body-secondary",
                            ),
                        ]
                    ),
                    fluid="lg",
                ),
                className="border-top py-3 text-body-secondary",
            ),
        ]
    )
