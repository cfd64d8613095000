"""One guard for every page: each page declares its tier when it registers; this enforces it.

The guard wraps every page's layout, so a page module stays a plain layout. Pages that forget to
declare a tier are treated as MIS-only (deny by default). Callbacks authorize on their own, on the
server, because Dash callbacks can be called without the page.
"""

from __future__ import annotations

import sys
from urllib.parse import quote, urlencode

import dash
import dash_bootstrap_components as dbc
from dash import dcc, html
from flask import session

from dashboard.i18n import _
from dashboard.web import PASSWORD_PAGE, csrf_token, current_principal, logged_in_principal

RANK = {"public": 0, "business": 1, "mis": 2}


def allowed(page_tier: str, actor_tier: str) -> bool:
    return RANK.get(actor_tier, 0) >= RANK.get(page_tier, RANK["mis"])


def _guarded(page: dict):
    inner = page.get("layout") or sys.modules[page["module"]].layout
    tier = page.get("tier", "mis")
    path = page.get("path", "/")

    def layout(**kwargs):
        pending = logged_in_principal()
        if pending is not None and pending.must_change_password and path != PASSWORD_PAGE:
            # a temporary password is replaced before anything else (the next page comes back after)
            back = f"{path}?{urlencode({k: v for k, v in kwargs.items() if isinstance(v, str)})}".rstrip("?")
            return dcc.Location(
                id="guard-redirect", href=f"{PASSWORD_PAGE}?next={quote(back, safe='/')}", refresh=True
            )
        principal = current_principal()
        have = "public" if principal is None else principal.tier
        if not allowed(tier, have):
            if principal is None:
                # a shared link keeps its state through the login
                query = urlencode({k: v for k, v in kwargs.items() if isinstance(v, str)})
                back = f"{path}?{query}" if query else path
                href = f"/login?next={quote(back, safe='/')}"
                return html.Div(
                    [
                        dcc.Location(id="guard-redirect", href=href, refresh=True),
                        html.P(_("Please log in to see this page.")),
                    ]
                )
            return dbc.Alert(
                _("Your account does not give access to this page."), color="warning", className="mt-3"
            )
        for injected in ("csrf", "mis", "error", "who"):  # set by the server, never from the URL
            kwargs.pop(injected, None)
        extra = {"csrf": csrf_token(), "mis": have == "mis"}
        if page.get("module", "").endswith(".login"):
            extra["error"] = session.pop("login_error", None)
        if path == PASSWORD_PAGE:
            extra["error"] = session.pop("password_error", None)
            extra["who"] = pending
        return inner(**kwargs, **extra) if callable(inner) else inner

    return layout


def install_guard() -> None:
    for page in dash.page_registry.values():
        if not getattr(page.get("layout"), "_nser_guarded", False):
            guarded = _guarded(page)
            guarded._nser_guarded = True  # type: ignore[attr-defined]
            page["layout"] = guarded
