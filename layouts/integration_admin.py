"""Integration at /admin/integration (MIS): load a feed's batch, review the events it raised (confirm,
re-survey, dismiss), record and decide appeals, reverse mistakes, see the batches and the outliers."""

from __future__ import annotations

import dash
import dash_ag_grid as dag
import dash_bootstrap_components as dbc
from dash import dcc, html

from dashboard.i18n import N_, _, direction, page_title
from data.feeds import load_feeds
from layouts import ids
from layouts.components import coded, grid_options
from layouts.data_request import dropdown_labels

dash.register_page(
    __name__,
    path="/admin/integration",
    title=page_title(N_("Integration — NSER Insight")),
    tier="mis",
    name="Integration",
)

# an event's states as reviewers read them (the codes stay in the data)
STATES = {
    "pending": N_("pending"),
    "confirmed": N_("confirmed"),
    "resurvey": N_("resurvey"),
    "appealed": N_("appealed"),
    "dismissed": N_("dismissed"),
    "reversed": N_("reversed"),
}
ACTION_LABELS = {
    "confirm": (N_("Confirm"), "success"),
    "resurvey": (N_("Send for re-survey"), "primary"),
    "dismiss": (N_("Dismiss"), "secondary"),
    "appeal": (N_("Record the household's appeal"), "warning"),
    "uphold": (N_("Uphold the appeal"), "warning"),
    "reject_appeal": (N_("Reject the appeal"), "warning"),
    "reverse": (N_("Reverse"), "danger"),
}


def state_name(state: str | None) -> str:
    """A state in the reader's language (the code itself if unknown)."""
    return _(STATES[state]) if state in STATES else state or "—"


def layout(**_ignored) -> html.Div:
    feeds = load_feeds().feeds
    # feed codes and the English explanations stay left to right in an Urdu (right-to-left) grid
    english = {"cellClass": "ltr", "cellStyle": {"direction": "ltr"}} if direction() == "rtl" else {}
    feed_options = [{"label": _(f.label), "value": name} for name, f in feeds.items()]
    return html.Div(
        [
            html.H1(_("Integration"), className="h3"),
            html.P(
                coded(
                    _(
                        "Feeds from other registries, matched on CNIC. A confirmed event applies from the next "
                        "snapshot (`nser warehouse build` or `nser warehouse ingest`); a hold is never a removal."
                    )
                ),
                className="text-body-secondary small",
            ),
            html.Div(id=ids.IN_SUMMARY, className="mb-2"),
            html.Div(id=ids.IN_SNAPSHOT, className="mb-2"),
            dbc.Row(
                [
                    dbc.Col(
                        dcc.Graph(
                            id=ids.IN_CHART, config={"displayModeBar": False}, style={"height": "320px"}
                        ),
                        lg=6,
                    ),
                    dbc.Col(
                        dcc.Graph(
                            id=ids.IN_MONTHS, config={"displayModeBar": False}, style={"height": "320px"}
                        ),
                        lg=6,
                    ),
                ]
            ),
            html.Div(id=ids.IN_DISTRICTS, className="mt-2"),
            dbc.Card(
                dbc.CardBody(
                    [
                        html.H2(_("Review"), className="h6"),
                        dbc.Row(
                            [
                                dbc.Col(
                                    [
                                        dbc.Label(_("State"), html_for=ids.IN_STATE, className="small"),
                                        dcc.Dropdown(
                                            id=ids.IN_STATE,
                                            options=[
                                                {"label": _(name), "value": s} for s, name in STATES.items()
                                            ],
                                            value="pending",
                                            clearable=False,
                                            labels=dropdown_labels(),
                                        ),
                                    ],
                                    md=3,
                                ),
                                dbc.Col(
                                    [
                                        dbc.Label(_("Feed"), html_for=ids.IN_FEED_FILTER, className="small"),
                                        dcc.Dropdown(
                                            id=ids.IN_FEED_FILTER,
                                            options=feed_options,
                                            placeholder=_("every feed"),
                                            labels=dropdown_labels(),
                                        ),
                                    ],
                                    md=9,
                                ),
                            ],
                            className="g-2 mb-2",
                        ),
                        dag.AgGrid(
                            id=ids.IN_EVENTS,
                            columnDefs=[
                                {"field": "id", "headerName": _("Event"), "width": 90},
                                {"field": "feed", "headerName": _("Feed"), "width": 150, **english},
                                {"field": "district", "headerName": _("District"), "width": 100},
                                {"field": "since", "headerName": _("Fact dated"), "width": 120},
                                {
                                    "field": "explanation",
                                    "headerName": _("What the feed says"),
                                    "flex": 1,
                                    "wrapText": True,
                                    "autoHeight": True,
                                    **english,
                                },
                            ],
                            rowData=[],
                            className="ag-theme-alpine",
                            dashGridOptions=grid_options(
                                rowSelection={
                                    "mode": "singleRow",
                                    "enableClickSelection": True,
                                    "checkboxes": False,
                                },
                                pagination=True,
                                paginationPageSize=20,
                                domLayout="autoHeight",
                            ),
                            style={"width": "100%"},
                        ),
                        html.Div(id=ids.IN_DETAIL, className="mt-3"),
                        dbc.Input(
                            id=ids.IN_COMMENT,
                            placeholder=_(
                                "comment, appeal grounds or reason (needed to dismiss, appeal, decide or reverse)"
                            ),
                            className="mt-2",
                        ),
                        html.Div(
                            [
                                dbc.Button(
                                    _(label),
                                    id=f"in-{action}",
                                    color=color,
                                    size="sm",
                                    className="me-2 mt-2",
                                    outline=action not in ("confirm",),
                                )
                                for action, (label, color) in ACTION_LABELS.items()
                            ]
                        ),
                        html.Div(id=ids.IN_ACTION_OUT, className="mt-2", role="status"),
                    ]
                ),
                className="mt-3",
            ),
            dbc.Card(
                dbc.CardBody(
                    [
                        html.H2(_("Load a batch"), className="h6"),
                        dbc.Row(
                            [
                                dbc.Col(
                                    dcc.Dropdown(
                                        id=ids.IN_FEED,
                                        options=feed_options,
                                        placeholder=_("the feed"),
                                        labels=dropdown_labels(),
                                    ),
                                    md=6,
                                ),
                                dbc.Col(
                                    dcc.Upload(
                                        id=ids.IN_UPLOAD,
                                        children=html.Div(
                                            [
                                                html.I(className="bi bi-upload me-2"),
                                                _("Choose the CSV or Parquet file"),
                                            ],
                                            className="btn btn-outline-secondary btn-sm",
                                        ),
                                        accept=".csv,.parquet",
                                        multiple=False,
                                    ),
                                    md=4,
                                ),
                                dbc.Col(
                                    dbc.Button(_("Load"), id=ids.IN_LOAD, color="primary", size="sm"), md=2
                                ),
                            ],
                            className="g-2",
                        ),
                        html.Div(id=ids.IN_UPLOAD_NAME, className="small text-body-secondary mt-1"),
                        html.Div(id=ids.IN_LOAD_OUT, className="mt-2", role="status"),
                        html.H2(_("Batches"), className="h6 mt-3"),
                        html.Div(id=ids.IN_BATCHES),
                    ]
                ),
                className="mt-3",
            ),
            dbc.Card(
                dbc.CardBody(
                    [
                        html.H2(_("Outliers"), className="h6"),
                        html.P(
                            _(
                                "Households whose PMT score is far from what their indicators imply (plan 9.1), "
                                "most unusual first."
                            ),
                            className="small text-body-secondary",
                        ),
                        dbc.InputGroup(
                            [
                                dbc.Input(
                                    id=ids.IN_OUTLIER_AREA,
                                    placeholder=_("area code, e.g. PK601 (empty: all)"),
                                ),
                                dbc.Button(_("Show"), id=ids.IN_OUTLIER_GO, color="secondary"),
                            ],
                            size="sm",
                        ),
                        html.Div(id=ids.IN_OUTLIERS, className="mt-2"),
                    ]
                ),
                className="mt-3 mb-4",
            ),
        ]
    )
