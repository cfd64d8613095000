"""Dash callbacks: thin — parse the inputs, ask the gateway as the session's actor, build figures.

Every callback is a public POST endpoint; none trusts the browser for who the user is.
"""

from __future__ import annotations


def register_all() -> None:
    """Import the callback modules (each registers with dash.callback on import)."""
    from dash import Input, Output, State, clientside_callback

    from dashboard.callbacks import (  # noqa: F401
        admin,
        data_requests,
        district,
        explore,
        home,
        integration,
        records,
        reports,
    )

    # the phone menu: open and close the navigation without a round trip to the server
    clientside_callback(
        "function (n, open) { return n ? !open : open; }",
        Output("nav-collapse", "is_open"),
        Input("nav-toggle", "n_clicks"),
        State("nav-collapse", "is_open"),
    )
