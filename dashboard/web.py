"""The Flask side of the app: sessions and login, CSRF, security headers, error pages, compression.

Dash callbacks are public POST endpoints, so nothing here trusts the browser for who the user is: the
actor of every callback comes from the server-side session (``current_actor``), and the gateway decides
what that actor may see.
"""

from __future__ import annotations

import hmac
import logging
import os
import secrets
from pathlib import Path
from urllib.parse import quote, urlparse

import flask
import flask_login
from flask import Flask, abort, redirect, request, session
from markupsafe import escape
from werkzeug.exceptions import HTTPException

from cubes.query import Actor
from dashboard import i18n
from dashboard.accounts import AccountError, Accounts, LoginRefused, Principal
from dashboard.audit import AccessLog, Entry
from dashboard.oversight import actor_for
from data.secrets import kept_secret

SERVER_ERROR = i18n.N_("Something went wrong on our side. The error was logged; please try again.")
BACK_HOME = i18n.N_("Back to NSER Insight")
STATIC_PREFIXES = ("/assets/", "/_dash-component-suites/", "/_favicon")  # no numbers there

log = logging.getLogger(__name__)
CSRF_FIELD = "csrf_token"


class SessionUser(flask_login.UserMixin):
    """What flask-login keeps for a logged-in user: the principal, refreshed from the store per request."""

    def __init__(self, principal: Principal):
        self.principal = principal

    def get_id(self) -> str:
        # the session names the user and the password it was opened with: a session opened before a
        # password change (a leaked temporary password, say) ends with the change
        return f"{self.principal.username}|{self.principal.session_stamp}"


def demo_mode() -> bool:
    return os.environ.get("NSER_DEMO", "").lower() in ("1", "true", "yes")


def secret_key() -> str:
    """``NSER_SECRET_KEY`` (required outside demo mode); in demo mode a key kept in the data directory."""
    key = os.environ.get("NSER_SECRET_KEY")
    if key:
        return key
    if not demo_mode():
        raise RuntimeError(
            "NSER_SECRET_KEY must be set outside demo mode (NSER_DEMO=1); "
            "generate one with: python -c 'import secrets; print(secrets.token_hex(32))'"
        )
    return kept_secret("flask.key").hex()


def client_ip() -> str | None:
    """The client's address (the first X-Forwarded-For hop only when NSER_TRUST_PROXY=1)."""
    if os.environ.get("NSER_TRUST_PROXY") == "1" and request.headers.get("X-Forwarded-For"):
        return request.headers["X-Forwarded-For"].split(",")[0].strip()
    return request.remote_addr


def logged_in_principal() -> Principal | None:
    """Whoever is logged in, even with a temporary password still to replace (only the password page
    asks this; everything else asks ``current_principal``)."""
    user = flask_login.current_user
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    return user.principal


def current_principal() -> Principal | None:
    """The logged-in user the app serves. Someone who must still replace a temporary password counts as
    nobody here — every page, callback and the gateway treat them as the public until they have."""
    principal = logged_in_principal()
    if principal is None or principal.must_change_password:
        return None
    return principal


PASSWORD_PAGE = "/account/password"


def current_actor() -> Actor:
    """The gateway actor of this request, from the server-side session only."""
    return actor_for(current_principal(), ip=client_ip() if flask.has_request_context() else None)


def csrf_token() -> str:
    if CSRF_FIELD not in session:
        session[CSRF_FIELD] = secrets.token_urlsafe(32)
    return session[CSRF_FIELD]


def _check_csrf() -> None:
    """Every state-changing request that is not a Dash callback must carry the session's CSRF token."""
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return
    path = request.path
    if path.startswith("/_dash-") or path.startswith("/_reload-hash"):
        return  # Dash callbacks: JSON POSTs, never state-changing in this app beyond their own checks
    if path.startswith("/api/v1/"):
        return  # the partner API: bearer tokens in a header, never cookies, so no cross-site forgery
    sent = request.form.get(CSRF_FIELD) or request.headers.get("X-CSRF-Token") or ""
    expected = session.get(CSRF_FIELD, "")
    if not expected or not hmac.compare_digest(sent, expected):
        abort(
            400,
            description=i18n.N_(
                "the form expired or did not come from this site; reload the page and try again"
            ),
        )


def _safe_next(target: str | None) -> str:
    """Only redirect within this site after login."""
    if not target:
        return "/"
    parts = urlparse(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return "/"
    return target


def security_headers(response: flask.Response, script_hashes: list[str]) -> flask.Response:
    csp = "; ".join(
        [
            "default-src 'self'",
            "script-src 'self' " + " ".join(script_hashes),
            "style-src 'self' 'unsafe-inline'",  # Dash and Plotly set inline styles on elements
            "img-src 'self' data: blob:",
            "font-src 'self' data:",
            "connect-src 'self'",
            "worker-src 'self' blob:",
            "frame-ancestors 'none'",
            "base-uri 'self'",
            "form-action 'self'",
            "object-src 'none'",
        ]
    )
    response.headers.setdefault("Content-Security-Policy", csp)
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault("Permissions-Policy", "geolocation=(), camera=(), microphone=()")
    if request.is_secure:
        response.headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
    return response


def configure(server: Flask, script_hashes_fn) -> None:
    """Sessions, login, CSRF, headers and error pages on the Flask server behind Dash."""
    server.config.update(
        SECRET_KEY=secret_key(),
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        # Secure cookies (HTTPS only) except in demo mode, which serves plain http on 127.0.0.1
        SESSION_COOKIE_SECURE=not demo_mode(),
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SECURE=not demo_mode(),
        PERMANENT_SESSION_LIFETIME=8 * 3600,
        COMPRESS_MIMETYPES=[
            "text/html",
            "text/css",
            "application/javascript",
            "application/json",
            "text/javascript",
            "application/geo+json",
        ],
        COMPRESS_MIN_SIZE=1024,
    )
    from flask_compress import Compress

    Compress(server)
    manager = flask_login.LoginManager()
    manager.init_app(server)
    manager.login_view = "/login"
    accounts = Accounts()

    @manager.user_loader
    def _load(session_id: str):
        username, _, stamp = session_id.partition("|")
        principal = accounts.get(username)  # None when disabled or locked since login
        if principal is None or not hmac.compare_digest(principal.session_stamp, stamp):
            return None  # or the password changed since this session began
        return SessionUser(principal)

    hashes: list[str] = []

    @server.before_request
    def _before() -> None:
        _check_csrf()
        if not request.path.startswith(STATIC_PREFIXES):
            # every answer of this request from one snapshot, even if a new one is swapped in meanwhile
            from dashboard.oversight import governed_gateway

            pin = governed_gateway().pinned()
            pin.__enter__()
            flask.g.nser_snapshot_pin = pin

    @server.teardown_request
    def _unpin(_exc) -> None:
        pin = flask.g.pop("nser_snapshot_pin", None)
        if pin is not None:
            pin.__exit__(None, None, None)

    @server.after_request
    def _after(response):
        if not hashes:
            hashes.extend(script_hashes_fn())
        if "nser_snapshot_pin" in flask.g:
            from dashboard.oversight import governed_gateway

            snapshot, answers = governed_gateway().pinned_answers()
            if snapshot:  # which snapshot answered, and how many answers went into the access log
                response.headers["X-NSER-Snapshot"] = snapshot
                response.headers["X-NSER-Answers"] = str(answers)
        return security_headers(i18n.remember(response), hashes)

    @server.get("/lang/<code>")
    def _choose_language(code: str):
        """The language switch: remember the choice and go back to the page it was made on."""
        if code not in i18n.LANGUAGES:
            abort(404)
        back = urlparse(request.referrer or "")
        target = back.path if back.netloc in ("", request.host) and back.path.startswith("/") else "/"
        target = _safe_next(target + (f"?{back.query}" if back.query and "lang=" not in back.query else ""))
        response = redirect(target, code=303)
        response.set_cookie(
            i18n.LANG_COOKIE,
            code,
            max_age=i18n.COOKIE_AGE,
            samesite="Lax",
            httponly=True,
            secure=request.is_secure,
        )
        return response

    @server.post("/auth/login")
    def _login():
        username = request.form.get("username", "").strip()
        password = request.form.get("password", "")
        target = _safe_next(request.form.get("next"))
        try:
            principal = accounts.authenticate(username, password, ip=client_ip())
        except LoginRefused as exc:
            session["login_error"] = str(exc)
            return redirect(f"/login?next={quote(target, safe='/')}", code=303)
        session.clear()  # no session fixation: a fresh session after login
        flask_login.login_user(SessionUser(principal))
        csrf_token()
        if principal.must_change_password:
            return redirect(f"{PASSWORD_PAGE}?next={quote(target, safe='/')}", code=303)
        return redirect(target, code=303)

    @server.post("/auth/password")
    def _change_password():
        principal = logged_in_principal()
        target = _safe_next(request.form.get("next"))
        if principal is None:
            return redirect(f"/login?next={quote(PASSWORD_PAGE, safe='/')}", code=303)
        try:
            accounts.change_password(
                principal.username,
                request.form.get("current", ""),
                request.form.get("new", ""),
                request.form.get("confirm", ""),
            )
        except AccountError as exc:
            session["password_error"] = str(exc)
            return redirect(f"{PASSWORD_PAGE}?next={quote(target, safe='/')}", code=303)
        refreshed = accounts.get(principal.username)
        session.clear()  # a fresh session with the new password
        if refreshed is not None:
            flask_login.login_user(SessionUser(refreshed))
        csrf_token()
        return redirect(target, code=303)

    @server.get("/admin/requests/<reference>/signed-nda")
    def _signed_nda(reference: str):
        """The signed NDA of a request, for BISP staff (in the access log)."""
        from dashboard.data_requests import DataRequests, RequestError

        principal = current_principal()
        if principal is None:
            return redirect(f"/login?next={quote(request.path, safe='/')}", code=303)
        try:
            doc = DataRequests().document(principal, reference)
        except RequestError as exc:
            abort(403 if principal.tier != "mis" else 404, description=str(exc))
        return flask.Response(
            doc.content,
            mimetype=doc.media_type,
            headers={
                "Content-Disposition": f'attachment; filename="{doc.filename}"',
                "Cache-Control": "no-store",
            },
        )

    @server.post("/auth/logout")
    def _logout():
        principal = logged_in_principal()
        flask_login.logout_user()
        session.clear()
        if principal is not None:
            AccessLog().append(
                Entry(
                    kind="logout",
                    outcome="success",
                    ip=client_ip(),
                    user_id=principal.user_id,
                    username=principal.username,
                    organisation=principal.organisation,
                )
            )
        return redirect("/", code=303)

    @server.get("/healthz")
    def _health():
        return {"ok": True}

    @server.errorhandler(Exception)
    def _error(exc):
        if isinstance(exc, HTTPException):
            code, message = exc.code or 500, exc.description or exc.name
        else:
            log.exception("unhandled error")
            code, message = 500, SERVER_ERROR
        # in the reader's language and direction: werkzeug's own descriptions are in the catalog too
        lang, direction = i18n.language(), i18n.direction()
        sheet = "bootstrap-rtl/bootstrap.rtl.min.css" if direction == "rtl" else "bootstrap/bootstrap.min.css"
        body = (
            f"<!doctype html><html lang='{lang}' dir='{direction}'><head><meta charset='utf-8'>"
            f"<title>{escape(i18n.gettext('NSER Insight'))}</title>"
            f"<link rel='stylesheet' href='/assets/vendor/{sheet}'></head>"
            f"<body class='container py-5'><h1 class='h4'>{code}</h1><p>{escape(i18n.gettext(message))}</p>"
            f"<p><a href='/'>{escape(i18n.gettext(BACK_HOME))}</a></p></body></html>"
        )
        return flask.Response(body, status=code, mimetype="text/html")


ROOT = Path(__file__).resolve().parents[1]
