"""The frame around every page: navigation by tier, the user's badge, login/logout, the page container."""

from __future__ import annotations

import dash
import dash_bootstrap_components as dbc
from dash import dcc, html

from dashboard import i18n
from dashboard.i18n import _
from layouts import ids


def number_style_links() -> list:
    """How numbers are written: lakh/crore or international grouping, Latin or Urdu digits (remembered)."""
    grouping, digits = i18n.number_style()
    links = [_("Numbers:"), " "]
    for value, label in (("south_asian", "12,34,567"), ("international", "1,234,567")):
        links += [
            html.A(
                label, href=f"?numbers={value}", className="ltr fw-semibold" if grouping == value else "ltr"
            ),
            " · ",
        ]
    other = ("latin", _("Latin digits")) if digits == "urdu" else ("urdu", _("Urdu digits"))
    links.append(html.A(other[1], href=f"?digits={other[0]}", id="numbers-digits"))
    return links


def language_switch() -> dbc.NavItem:
    """A link to the other language (its name written in that language), kept in a cookie."""
    other = "en" if i18n.language() == "ur" else "ur"
    return dbc.NavItem(
        dbc.NavLink(
            html.Span(i18n.LANGUAGES[other], lang=other),
            href=f"/lang/{other}",
            external_link=True,
            id="nav-language",
            className="me-2",
        )
    )


def navbar(principal, csrf: str | None) -> dbc.Navbar:
    links = [
        dbc.NavItem(dbc.NavLink(_("Home"), href="/")),
        dbc.NavItem(dbc.NavLink(_("Districts"), href="/district/PK601")),
        dbc.NavItem(dbc.NavLink(_("Reports"), href="/reports")),
        dbc.NavItem(dbc.NavLink(_("Request data"), href="/request")),
    ]
    if principal is not None:
        links.append(dbc.NavItem(dbc.NavLink(_("Explorer"), href="/explore")))
        if principal.tier == "mis" or principal.record_role != "none":
            links.append(dbc.NavItem(dbc.NavLink(_("Records"), href="/records")))
    if principal is not None and principal.tier == "mis":
        links.append(dbc.NavItem(dbc.NavLink(_("Admin"), href="/admin")))
        links.append(dbc.NavItem(dbc.NavLink(_("Report designer"), href="/admin/reports")))
        links.append(dbc.NavItem(dbc.NavLink(_("Requests"), href="/admin/requests")))
        links.append(dbc.NavItem(dbc.NavLink(_("Integration"), href="/admin/integration")))
    switch = language_switch()
    if principal is None:
        right = dbc.Nav(
            [
                switch,
                dbc.NavItem(
                    dbc.NavLink(
                        [html.I(className="bi bi-box-arrow-in-right me-1"), _("Log in")],
                        href="/login",
                        id="nav-login",
                    )
                ),
            ],
            navbar=True,
        )
    else:
        badge = html.Span(
            [
                html.I(className="bi bi-person-circle me-1"),
                # the person's and organisation's names are data: as they were written, in any script
                html.Span(principal.full_name, className="fw-semibold user-data", dir="auto"),
                html.Span(
                    [" · ", html.Span(principal.organisation, className="user-data", dir="auto")],
                    className="d-none d-md-inline",
                ),
                dbc.Badge(
                    _("MIS") if principal.tier == "mis" else _("BUSINESS"),
                    color="danger" if principal.tier == "mis" else "info",
                    text_color=None if principal.tier == "mis" else "dark",  # white on cyan fails contrast
                    className="ms-2",
                ),
            ],
            id=ids.USER_BADGE,
            className="navbar-text me-3 text-white small",
        )
        logout = html.Form(
            [
                dcc.Input(type="hidden", name="csrf_token", value=csrf or ""),
                html.Button(_("Log out"), type="submit", className="btn btn-sm btn-outline-light"),
            ],
            method="POST",
            action="/auth/logout",
            className="d-inline",
        )
        right = html.Div([dbc.Nav(switch, navbar=True), badge, logout], className="d-flex align-items-center")
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
                            _("Benazir Income Support Programme — National Socio-Economic Registry.") + " ",
                            html.Span(
                                _(
                                    "Synthetic demonstration registry calibrated to the 2023 census; not real people."
                                )
                                + " ",
                                className="text-body-secondary",
                            ),
                        ]
                    ),
                    fluid="lg",
                ),
                className="border-top py-3 text-body-secondary",
            ),
            html.Div(number_style_links(), className="container-lg small text-body-secondary pb-3"),
        ]
    )
