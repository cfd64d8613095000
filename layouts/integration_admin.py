"""Integration at /admin/integration (MIS): load a feed's batch, review the events it raised (confirm,
re-survey, dismiss), record and decide appeals, reverse mistakes, see the batches and the outliers."""

from __future__ import annotations

import dash
import dash_ag_grid as dag
import dash_bootstrap_components as dbc
from dash import dcc, html

from data.feeds import load_feeds
from layouts import ids

dash.register_page(
    __name__, path="/admin/integration", title="Integration — NSER Insight", tier="mis", name="Integration"
)

STATES = ["pending", "confirmed", "resurvey", "appealed", "dismissed", "reversed"]
ACTION_LABELS = {
    "confirm": ("Confirm", "success"),
    "resurvey": ("Send for re-survey", "primary"),
    "dismiss": ("Dismiss", "secondary"),
    "appeal": ("Record the household's appeal", "warning"),
    "uphold": ("Uphold the appeal", "warning"),
    "reject_appeal": ("Reject the appeal", "warning"),
    "reverse": ("Reverse", "danger"),
}


def layout(**_ignored) -> html.Div:
    feeds = load_feeds().feeds
    feed_options = [{"label": f.label, "value": name} for name, f in feeds.items()]
    return html.Div(
        [
            html.H1("Integration", className="h3"),
            html.P(
                "Feeds from other registries, matched on CNIC. A confirmed event applies from the next "
                "snapshot (nser warehouse build or ingest); a hold is never a removal.",
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
                        html.H2("Review", className="h6"),
                        dbc.Row(
                            [
                                dbc.Col(
                                    [
                                        dbc.Label("State", html_for=ids.IN_STATE, className="small"),
                                        dcc.Dropdown(
                                            id=ids.IN_STATE,
                                            options=[{"label": s, "value": s} for s in STATES],
                                            value="pending",
                                            clearable=False,
                                        ),
                                    ],
                                    md=3,
                                ),
                                dbc.Col(
                                    [
                                        dbc.Label("Feed", html_for=ids.IN_FEED_FILTER, className="small"),
                                        dcc.Dropdown(
                                            id=ids.IN_FEED_FILTER,
                                            options=feed_options,
                                            placeholder="every feed",
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
                                {"field": "id", "headerName": "Event", "width": 90},
                                {"field": "feed", "headerName": "Feed", "width": 150},
                                {"field": "district", "headerName": "District", "width": 100},
                                {"field": "since", "headerName": "Fact dated", "width": 120},
                                {
                                    "field": "explanation",
                                    "headerName": "What the feed says",
                                    "flex": 1,
                                    "wrapText": True,
                                    "autoHeight": True,
                                },
                            ],
                            rowData=[],
                            className="ag-theme-alpine",
                            dashGridOptions={
                                "rowSelection": {
                                    "mode": "singleRow",
                                    "enableClickSelection": True,
                                    "checkboxes": False,
                                },
                                "pagination": True,
                                "paginationPageSize": 20,
                                "domLayout": "autoHeight",
                            },
                            style={"width": "100%"},
                        ),
                        html.Div(id=ids.IN_DETAIL, className="mt-3"),
                        dbc.Input(
                            id=ids.IN_COMMENT,
                            placeholder="comment, appeal grounds or reason (needed to dismiss, appeal, decide or reverse)",
                            className="mt-2",
                        ),
                        html.Div(
                            [
                                dbc.Button(
                                    label,
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
                        html.H2("Load a batch", className="h6"),
                        dbc.Row(
                            [
                                dbc.Col(
                                    dcc.Dropdown(
                                        id=ids.IN_FEED, options=feed_options, placeholder="the feed"
                                    ),
                                    md=6,
                                ),
                                dbc.Col(
                                    dcc.Upload(
                                        id=ids.IN_UPLOAD,
                                        children=html.Div(
                                            [
                                                html.I(className="bi bi-upload me-2"),
                                                "Choose the CSV or Parquet file",
                                            ],
                                            className="btn btn-outline-secondary btn-sm",
                                        ),
                                        accept=".csv,.parquet",
                                        multiple=False,
                                    ),
                                    md=4,
                                ),
                                dbc.Col(dbc.Button("Load", id=ids.IN_LOAD, color="primary", size="sm"), md=2),
                            ],
                            className="g-2",
                        ),
                        html.Div(id=ids.IN_UPLOAD_NAME, className="small text-body-secondary mt-1"),
                        html.Div(id=ids.IN_LOAD_OUT, className="mt-2", role="status"),
                        html.H2("Batches", className="h6 mt-3"),
                        html.Div(id=ids.IN_BATCHES),
                    ]
                ),
                className="mt-3",
            ),
            dbc.Card(
                dbc.CardBody(
                    [
                        html.H2("Outliers", className="h6"),
                        html.P(
                            "Households whose PMT score is far from what their indicators imply (plan 9.1), "
                            "most unusual first.",
                            className="small text-body-secondary",
                        ),
                        dbc.InputGroup(
                            [
                                dbc.Input(
                                    id=ids.IN_OUTLIER_AREA, placeholder="area code, e.g. PK601 (empty: all)"
                                ),
                                dbc.Button("Show", id=ids.IN_OUTLIER_GO, color="secondary"),
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
