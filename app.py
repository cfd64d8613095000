"""NSER Insight web app: ``create_app()`` wires Flask and Dash; ``server`` is the WSGI entry for gunicorn.

For now the app shows which warehouse snapshot is current and its national household count; the
pages, login and the cube gateway arrive with later issues.
"""

from __future__ import annotations

import dash
from dash import html

from data.snapshots import SnapshotStore


def _status() -> html.Div:
    """Read the current snapshot's manifest on every page load, so a new snapshot shows at once."""
    snap = SnapshotStore().current()
    if snap is None:
        return html.Div(
            [html.H1("NSER Insight"), html.P("No warehouse snapshot yet: run `nser warehouse build`.")]
        )
    m = snap.manifest
    return html.Main(
        [
            html.H1("NSER Insight"),
            html.P("National Socio-Economic Registry — analytics and data-sharing portal"),
            html.Dl(
                [
                    html.Dt("Snapshot"),
                    html.Dd(snap.snapshot_id, id="snapshot-id"),
                    html.Dt("As of"),
                    html.Dd(m["as_of"], id="snapshot-as-of"),
                    html.Dt("Households in the registry"),
                    html.Dd(f"{m['households']:,}", id="national-households"),
                ]
            ),
        ],
        style={"fontFamily": "system-ui, sans-serif", "maxWidth": "40rem", "margin": "2rem auto"},
    )


def create_app() -> dash.Dash:
    app = dash.Dash(__name__, title="NSER Insight", external_stylesheets=[], serve_locally=True)
    app.layout = _status
    return app


server = create_app().server
