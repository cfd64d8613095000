"""MIS report designer at /admin/reports: designs as JSON (the stored form), a preview of exactly what the
audience will see, the approval workflow, history, and everything public with revoke in one click."""

from __future__ import annotations

import re

import dash
import dash_bootstrap_components as dbc
from dash import dcc, html

from dashboard.i18n import N_, _, page_title
from layouts import components, ids
from layouts.data_request import dropdown_labels, typed

dash.register_page(
    __name__,
    path="/admin/reports",
    title=page_title(N_("Report designer — NSER Insight")),
    tier="mis",
    name="Report designer",
)

# the JSON keys and values stay English in every language ({name} is the design's own placeholder)
HELP = N_(
    "A design is JSON: slug, title, description, topic, audience (public or business), optional "
    "parameters (an area picker: name, label, level province|district|tehsil, default) and panels "
    "(title, visual table|bar|stacked|pyramid|map|headline, query as in the explorer; {name} stands for a "
    "parameter's value). Paste an explorer link to add its table as a panel."
)
DESIGN_WORDS = [
    "slug",
    "title",
    "description",
    "topic",
    "audience",
    "public",
    "business",
    "parameters",
    "name",
    "label",
    "level",
    "province",
    "district",
    "tehsil",
    "default",
    "panels",
    "visual",
    "table",
    "bar",
    "stacked",
    "pyramid",
    "map",
    "headline",
    "query",
]


def help_text() -> list:
    """The help in the reader's language, the design's JSON words in it set as code (they are typed as
    they are, in English, on every page)."""
    words = re.compile(r"\b(" + "|".join(DESIGN_WORDS) + r")\b")
    parts = words.split(_(HELP))
    return [html.Code(p) if i % 2 else p for i, p in enumerate(parts) if p]


def layout(**_ignored) -> html.Div:
    buttons = dbc.ButtonGroup(
        [
            dbc.Button(_("Preview"), id=ids.RA_PREVIEW, color="secondary", outline=True),
            dbc.Button(_("Save draft"), id=ids.RA_SAVE, color="primary"),
            dbc.Button(_("Submit for approval"), id=ids.RA_SUBMIT, color="primary", outline=True),
        ],
        className="my-2",
    )
    decision = dbc.Card(
        dbc.CardBody(
            [
                html.H2(_("Decision (Director General NSER) and rollback"), className="h6"),
                dbc.Row(
                    [
                        dbc.Col(
                            dbc.Input(id=ids.RA_VERSION, type="number", min=1, placeholder=_("version")), md=3
                        ),
                        dbc.Col(
                            dbc.Input(
                                id=ids.RA_COMMENT, placeholder=_("comment (required to reject)"), **typed()
                            ),
                            md=9,
                        ),
                    ],
                    className="g-2",
                ),
                dbc.ButtonGroup(
                    [
                        dbc.Button(_("Approve and publish"), id=ids.RA_APPROVE, color="success"),
                        dbc.Button(_("Reject"), id=ids.RA_REJECT, color="danger", outline=True),
                        dbc.Button(
                            _("Roll back to this version"), id=ids.RA_ROLLBACK, color="warning", outline=True
                        ),
                    ],
                    className="mt-2",
                ),
            ]
        ),
        className="my-2",
    )
    return html.Div(
        [
            html.H1(_("Report designer"), className="h3"),
            dbc.Row(
                [
                    dbc.Col(
                        [
                            html.Label(_("Report"), htmlFor=ids.RA_PICK, className="form-label fw-semibold"),
                            dcc.Dropdown(
                                id=ids.RA_PICK,
                                placeholder=_("New report"),
                                clearable=True,
                                labels=dropdown_labels(),
                            ),
                            html.H2(_("All reports"), className="h6 mt-3"),
                            html.Div(id=ids.RA_LIST),
                            html.H2(_("Public now"), className="h6 mt-3"),
                            html.Div(id=ids.RA_PUBLIC),
                        ],
                        lg=4,
                    ),
                    dbc.Col(
                        [
                            html.P(help_text(), className="small text-body-secondary"),
                            html.Label(
                                _("Design (JSON)"), htmlFor=ids.RA_DESIGN, className="form-label fw-semibold"
                            ),
                            dbc.Textarea(
                                id=ids.RA_DESIGN,
                                rows=18,
                                className="font-monospace small ltr",  # JSON reads left to right on Urdu pages too
                                spellCheck=False,
                            ),
                            dbc.InputGroup(
                                [
                                    dbc.Input(
                                        id=ids.RA_EXPLORER_LINK,
                                        placeholder=_("explorer link, e.g. /explore?cube=…"),
                                        **typed(),
                                    ),
                                    dbc.Button(_("Add as panel"), id=ids.RA_ADD_PANEL, color="secondary"),
                                ],
                                className="mt-2",
                            ),
                            buttons,
                            html.Div(id=ids.RA_MESSAGE, role="status"),
                            decision,
                            html.H2(_("History"), className="h6 mt-3"),
                            html.Div(id=ids.RA_HISTORY),
                        ],
                        lg=8,
                    ),
                ]
            ),
            html.H2(_("Preview: what the audience will see"), className="h5 mt-4"),
            components.loading(html.Div(id=ids.RA_PREVIEW_OUT)),
        ]
    )
