"""NSER Insight web app: ``create_app()`` wires Flask (login, security), Dash pages and callbacks.

``server`` is the WSGI entry for gunicorn (``gunicorn -w 2 -b 127.0.0.1:8050 app:server``). Demo mode
(``NSER_DEMO=1``, which ``nser run`` sets on the embedded default) seeds one user per tier and role.
"""

from __future__ import annotations

from pathlib import Path

import dash
import diskcache
from dash import DiskcacheManager

ROOT = Path(__file__).resolve().parent
# files under assets/ that Dash must not load by itself: the RTL Bootstrap, linked instead of the LTR one
# on Urdu pages (NserDash.interpolate_index)
ASSETS_IGNORE = r"bootstrap\.rtl\.min\.css$"


class NserDash(dash.Dash):
    """Dash with a page shell in the reader's language: ``<html lang dir>``, the page's own title (Dash
    sets only the app's and changes it in the browser later; a shared link, a bookmark and a screen reader
    see the first) and, for Urdu, Bootstrap's right-to-left stylesheet instead of the left-to-right one."""

    def interpolate_index(self, **kwargs) -> str:
        from html import escape

        import flask

        from dashboard import i18n

        if flask.has_request_context() and kwargs.get("title") == self.title:
            start_page, path_variables = dash._pages._path_to_page(flask.request.path.strip("/"))
            title = start_page.get("title", self.title) if start_page else self.title
            if callable(title):
                title = title(**(path_variables or {}))
            kwargs["title"] = escape(title)
        page = super().interpolate_index(**kwargs)
        lang, direction = i18n.language(), i18n.direction()
        page = page.replace("<html>", f'<html lang="{lang}" dir="{direction}">', 1)
        if direction == "rtl":
            page = page.replace(
                "/assets/vendor/bootstrap/bootstrap.min.css",
                "/assets/vendor/bootstrap-rtl/bootstrap.rtl.min.css",
            )
        return page


def background_manager(cache_dir: Path):
    """Where background callbacks (the explorer's exports) run: a diskcache and a process pool on this
    machine, or Celery workers with Redis as broker and result store when ``NSER_CACHE_URL`` names one
    (app nodes on several machines; start the workers with `nser worker`)."""
    from dashboard.store import cache_url

    url = cache_url()
    if url:
        from dash import CeleryManager

        return CeleryManager(celery_app())
    return DiskcacheManager(diskcache.Cache(str(cache_dir)))


_CELERY = None


def celery_app():
    """The Celery app of the background callbacks (``NSER_CACHE_URL`` as broker and backend)."""
    global _CELERY
    if _CELERY is None:
        from celery import Celery

        from dashboard.store import cache_url

        url = cache_url()
        _CELERY = Celery("nser", broker=url, backend=url)
        _CELERY.conf.update(result_expires=3600, worker_hijack_root_logger=False)
    return _CELERY


def create_app() -> dash.Dash:
    from dashboard import pages, store, web
    from dashboard.callbacks import register_all
    from layouts.shell import shell

    cache_dir = store.cache_dir() / "dash-cache"
    cache_dir.mkdir(parents=True, exist_ok=True)
    app = NserDash(
        __name__,
        title="NSER Insight",
        use_pages=True,
        pages_folder="",
        assets_folder=str(ROOT / "assets"),
        assets_ignore=ASSETS_IGNORE,
        external_stylesheets=[],
        serve_locally=True,
        compress=False,
        suppress_callback_exceptions=True,
        background_callback_manager=background_manager(cache_dir),
        meta_tags=[{"name": "viewport", "content": "width=device-width, initial-scale=1"}],
    )
    import layouts.account  # noqa: F401  (each page registers itself)
    import layouts.admin  # noqa: F401
    import layouts.data_request  # noqa: F401
    import layouts.district  # noqa: F401
    import layouts.explore  # noqa: F401
    import layouts.home  # noqa: F401
    import layouts.integration_admin  # noqa: F401
    import layouts.login  # noqa: F401
    import layouts.records  # noqa: F401
    import layouts.report  # noqa: F401
    import layouts.report_admin  # noqa: F401
    import layouts.reports  # noqa: F401
    import layouts.request_admin  # noqa: F401

    pages.install_guard()
    register_all()
    web.configure(app.server, app.csp_hashes)
    _guard_reports(app.server)
    from dashboard.api import api

    app.server.register_blueprint(api)
    # the frame shows whoever is logged in (a temporary password still to replace included, so they can
    # log out); what a page or callback serves is decided by web.current_principal, which ignores them
    app.layout = lambda: shell(web.logged_in_principal(), web.csrf_token())
    if web.demo_mode():
        from dashboard.demo import seed, seed_reports

        seed()
        seed_reports()
    _warm_up(app)
    return app


def _warm_up(app: dash.Dash) -> None:
    """Render the index page once in this worker before it serves anyone.

    Dash finishes its set-up (scripts, and moving every page's callbacks into the app) on the first
    request, and marks it done *before* doing it: if that request fails, the worker serves pages with no
    callbacks for the rest of its life, and a concurrent first request sees half of them. So do it here,
    alone, and refuse to start a worker whose set-up failed (gunicorn then reports the boot error).
    """
    response = app.server.test_client().get("/")
    if response.status_code != 200:
        raise RuntimeError(
            f"the app's first page failed with HTTP {response.status_code} while the worker started; "
            "the cause is logged above"
        )
    from dash import _callback

    if _callback.GLOBAL_CALLBACK_LIST or _callback.GLOBAL_CALLBACK_MAP:
        raise RuntimeError("the app's callbacks were not all registered while the worker started")


def _guard_reports(server) -> None:
    """/reports/<slug> answers 404 unless the report is published for this session (drafts, rejected and
    retired versions are MIS-only), before Dash serves its page shell."""
    from flask import abort, request

    from dashboard.publication import may_open
    from dashboard.web import current_principal

    @server.before_request
    def _unpublished_reports_are_not_found():
        if request.method == "GET" and request.path.startswith("/reports/"):
            slug = request.path[len("/reports/") :].strip("/")
            if slug and not may_open(current_principal(), slug):
                abort(404)


_app = None


def __getattr__(name: str):
    """``app.server`` is created on first use, so importing this module has no side effects."""
    global _app
    if name in ("server", "celery"):
        if _app is None:
            _app = create_app()
        # `celery -A app:celery worker`: the worker builds the app, so every background callback is a task
        return _app.server if name == "server" else celery_app()
    raise AttributeError(name)
