"""One published report at its stable URL /reports/<slug>: stamp, area picker, panels, downloads.

Whether the report exists and may be seen is decided on the server (dashboard.web answers 404 for
anything not published, and the callbacks render only published versions)."""

from __future__ import annotations

import dash
import dash_bootstrap_components as dbc
from dash import dcc, html

from dashboard.i18n import N_, _, page_title
from layouts import components, ids

dash.register_page(
    __name__,
    path_template="/reports/<slug>",
    title=page_title(N_("Report — NSER Insight")),
    tier="public",
    name="Report",
)


def layout(slug: str = "", **query) -> html.Div:
    params = {k: v for k, v in query.items() if isinstance(v, str) and k not in ("csrf",)}
    return html.Div(
        [
            dcc.Store(id=ids.RP_SLUG, data={"slug": slug, "params": params}),
            html.Nav(
                html.Ol(
                    [
                        html.Li(dcc.Link(_("Reports"), href="/reports"), className="breadcrumb-item"),
                        html.Li(slug, className="breadcrumb-item active"),
                    ],
                    className="breadcrumb",
                )
            ),
            components.loading(html.Div(id=ids.RP_HEADER)),
            dbc.Row(
                [
                    dbc.Col(dcc.Dropdown(id=ids.RP_PARAM, clearable=False, style={"display": "none"}), md=5),
                    dbc.Col(
                        dbc.Button(
                            [html.I(className="bi bi-file-earmark-pdf me-1"), _("Whole report as PDF")],
                            id=ids.RP_PDF,
                            color="primary",
                            outline=True,
                            size="sm",
                        ),
                        className="text-md-end",
                    ),
                ],
                className="g-2 my-2 align-items-center",
            ),
            components.loading(html.Div(id=ids.RP_PANELS)),
            dcc.Download(id=ids.RP_DOWNLOAD),
        ]
    )
