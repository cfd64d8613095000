"""The district map renders from the app's own assets alone, with no request leaving the app's host.

A tiny Dash app on the real assets/ folder: a geo `go.Choropleth` whose GeoJSON is the URL of
assets/geo/districts.json. Checks that all 156 districts are drawn, that no request (plotly's world
topojson from its CDN included) goes anywhere but the app, that assets/plotly-geo-offline.js is loaded
before the renderer and plotly.js, and that the vendored Bootstrap CSS and Bootstrap Icons font apply.
Screenshot: test-artifacts/offline-map.png.
"""

from __future__ import annotations

import csv
import time
from pathlib import Path
from urllib.parse import urlsplit

import dash
import plotly.graph_objects as go
import pytest
from dash import dcc, html

pytestmark = pytest.mark.browser

REPO = Path(__file__).resolve().parents[2]
ASSETS = REPO / "assets"


def _district_codes() -> list[str]:
    with open(REPO / "data" / "reference" / "pak_districts.csv", newline="", encoding="utf-8") as f:
        return [row["district_code"] for row in csv.DictReader(f)]


def _map_app() -> dash.Dash:
    app = dash.Dash(
        __name__,
        assets_folder=str(ASSETS),
        serve_locally=True,
        external_stylesheets=[],
        title="offline map test",
    )
    codes = _district_codes()
    fig = go.Figure(
        go.Choropleth(
            geojson=app.get_asset_url("geo/districts.json"),
            locations=codes,
            # colour by position in the code list: districts are numbered within provinces, so each
            # province shows as its own band of the scale
            z=list(range(len(codes))),
            featureidkey="id",
            colorscale="Viridis",
            marker_line_width=0.4,
            marker_line_color="white",
        )
    )
    fig.update_geos(fitbounds="locations", visible=False)
    fig.update_layout(height=720, margin={"l": 0, "r": 0, "t": 0, "b": 0})
    app.layout = html.Div(
        [
            html.H1([html.I(className="bi bi-map", id="icon"), " Districts"], className="h3"),
            html.Button("A Bootstrap button", className="btn btn-primary", id="btn"),
            dcc.Graph(id="map", figure=fig),
        ],
        className="container-fluid",
    )
    return app


def test_district_map_renders_offline(page, wsgi_server, screenshot):
    started = time.perf_counter()
    app = _map_app()
    base = wsgi_server(app.server)
    app_host = urlsplit(base).netloc

    page.goto(base + "/")
    page.wait_for_function("document.querySelectorAll('path.choroplethlocation').length >= 156")
    drawn = page.locator("path.choroplethlocation").count()
    assert drawn == 156

    # every district path has a real outline (a flipped ring would paint the whole frame instead)
    sizes = page.evaluate(
        """() => Array.from(document.querySelectorAll('path.choroplethlocation')).map(p => {
               const b = p.getBBox(); return [b.width, b.height]; })"""
    )
    plot = page.locator("#map .main-svg").first.bounding_box()
    assert all(w > 0 and h > 0 for w, h in sizes)
    assert max(w for w, _ in sizes) < plot["width"] * 0.9, "a district spans the whole map: inverted ring?"

    # the topojson plotly would have fetched was pre-registered by assets/plotly-geo-offline.js ...
    assert page.evaluate("Object.keys(window.PlotlyGeoAssets.topojson).sort()") == [
        "asia_110m",
        "asia_50m",
        "world_110m",
        "world_50m",
    ]
    # ... which the page loads before dash-renderer (which starts rendering) and before plotly.js
    order = page.evaluate("Array.from(document.scripts).map(s => s.src).filter(Boolean)")
    geo_ix = next(i for i, s in enumerate(order) if "plotly-geo-offline.js" in s)
    renderer_ix = next(i for i, s in enumerate(order) if "dash_renderer" in s)
    assert geo_ix < renderer_ix
    plotly_ix = [
        i
        for i, s in enumerate(order)
        if "plotly" in urlsplit(s).path.rsplit("/", 1)[-1] and "plotly-geo-offline" not in s
    ]
    assert all(geo_ix < i for i in plotly_ix)

    # Bootstrap 5.3 from assets/vendor: its body font stack and .btn-primary colour
    body_font = page.evaluate("getComputedStyle(document.body).fontFamily")
    assert body_font.startswith("system-ui"), body_font
    assert (
        page.evaluate("getComputedStyle(document.getElementById('btn')).backgroundColor")
        == "rgb(13, 110, 253)"
    )

    # Bootstrap Icons: the glyph is set and the icon font file itself loaded
    glyph = page.evaluate("getComputedStyle(document.getElementById('icon'), '::before').content")
    assert glyph not in ("", "none", "normal"), glyph
    page.wait_for_function(
        """() => Array.from(document.fonts).some(
               f => f.family.replace(/["']/g, '') === 'bootstrap-icons' && f.status === 'loaded')"""
    )
    assert any(urlsplit(u).path.endswith("/bootstrap-icons.woff2") for u in page.requests_seen)

    page.wait_for_load_state("networkidle")
    path = screenshot(page, "offline-map")
    assert path.stat().st_size > 10_000

    requests = list(page.requests_seen)
    foreign = [
        u for u in requests if urlsplit(u).scheme in ("http", "https") and urlsplit(u).netloc != app_host
    ]
    foreign += [u for u in requests if urlsplit(u).scheme not in ("http", "https", "data", "blob")]
    assert not foreign, f"requests that left the app's host: {foreign}"
    # the GeoJSON came from the assets, fetched once
    assert sum(urlsplit(u).path.endswith("/assets/geo/districts.json") for u in requests) == 1
    # the Urdu font is declared but used by nothing here, so it is never downloaded
    assert not any("noto-nastaliq-urdu-" in u for u in requests)

    print(
        f"\n{len(requests)} requests, all to {app_host}; page ready in {time.perf_counter() - started:.1f} s"
    )
    for u in requests:
        print("  ", urlsplit(u).path)
