"""Static checks on the browser assets (no browser needed, no shapely): the map shapes in assets/geo and
the vendored front-end files in assets/vendor.

The shapes are built by data/build_map_shapes.py (see its docstring); these tests guard what the app and
plotly.js rely on: ids equal to the reference codes, nothing but the code as a property, outer rings
clockwise (d3/plotly convention), 3-decimal coordinates, small files.
"""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
ASSETS = REPO / "assets"
REFERENCE = REPO / "data" / "reference"

LEVELS = [
    # file, code property, reference csv, expected count, max bytes
    ("districts", "district_code", "pak_districts.csv", 156, 250_000),
    ("divisions", "division_code", "pak_divisions.csv", 37, 150_000),
    ("provinces", "province_code", "pak_provinces.csv", 7, 100_000),
]


def _signed_area(ring: list[list[float]]) -> float:
    """Shoelace area in lon/lat: negative for a clockwise ring."""
    return 0.5 * sum(x0 * y1 - x1 * y0 for (x0, y0), (x1, y1) in zip(ring, ring[1:], strict=False))


def _polygons(geometry: dict) -> list:
    if geometry["type"] == "Polygon":
        return [geometry["coordinates"]]
    assert geometry["type"] == "MultiPolygon", geometry["type"]
    return geometry["coordinates"]


@pytest.mark.parametrize(("name", "key", "csv_name", "count", "max_bytes"), LEVELS)
def test_map_shapes(name, key, csv_name, count, max_bytes):
    path = ASSETS / "geo" / f"{name}.json"
    assert path.stat().st_size <= max_bytes
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["type"] == "FeatureCollection"
    with open(REFERENCE / csv_name, newline="", encoding="utf-8") as f:
        expected = [row[key] for row in csv.DictReader(f)]
    features = data["features"]
    assert len(features) == count == len(expected)
    assert sorted(f["id"] for f in features) == sorted(expected)
    for feature in features:
        code = feature["id"]
        assert feature["properties"] == {key: code}
        polygons = _polygons(feature["geometry"])
        assert polygons, code
        for rings in polygons:
            for i, ring in enumerate(rings):
                assert len(ring) >= 4 and ring[0] == ring[-1], code
                assert all(round(v, 3) == v for point in ring for v in point), code
                area = _signed_area(ring)
                if i == 0:
                    assert area < 0, f"{name} {code}: outer ring not clockwise"
                else:
                    assert area > 0, f"{name} {code}: hole not counter-clockwise"
            lons = [p[0] for p in rings[0]]
            lats = [p[1] for p in rings[0]]
            assert 60 < min(lons) <= max(lons) < 78, code
            assert 23 < min(lats) <= max(lats) < 38, code


def _dash_loaded_assets() -> list[str]:
    """The .css/.js files under assets/ that Dash would load, in its order (dash.Dash._walk_assets_directory)."""
    import dash

    from app import ASSETS_IGNORE

    app = dash.Dash(__name__, assets_folder=str(ASSETS), serve_locally=True, assets_ignore=ASSETS_IGNORE)
    app._walk_assets_directory()
    return [
        r["asset_path"] for r in app.css.get_all_css() + app.scripts.get_all_scripts() if "asset_path" in r
    ]


def test_only_the_intended_vendor_files_are_loaded_by_dash():
    loaded = _dash_loaded_assets()
    vendor = [p for p in loaded if p.startswith("vendor/")]
    assert vendor == [
        "vendor/bootstrap/bootstrap.min.css",
        "vendor/bootstrap-icons/bootstrap-icons.min.css",
        "vendor/fonts/noto-nastaliq-urdu.css",
    ]
    assert "plotly-geo-offline.js" in loaded
    # ours, after every vendor file: the Urdu face rules, and the screen-reader fixes for Dash's widgets
    assert [p for p in loaded if p.startswith("zz-site/")] == ["zz-site/site.css", "zz-site/a11y.js"]
    # nothing in geo/ is a stylesheet or script (GeoJSON is fetched by plotly.js by URL)
    assert not [p for p in loaded if p.startswith("geo/")]


def test_vendor_urls_resolve_and_licences_are_present():
    for css in (ASSETS / "vendor").rglob("*.css"):
        for url in re.findall(r"url\(\s*['\"]?([^'\")]+)", css.read_text(encoding="utf-8")):
            if url.startswith("data:"):
                continue
            assert not re.match(r"^[a-z]+://|^//", url), f"{css.name} points outside the app: {url}"
            target = (css.parent / url.split("?")[0].split("#")[0]).resolve()
            assert target.is_file(), f"{css.relative_to(ASSETS)}: {url} is missing"
    for folder in ("bootstrap", "bootstrap-rtl", "bootstrap-icons", "fonts/noto-nastaliq-urdu"):
        assert (ASSETS / "vendor" / folder / "LICENSE").is_file()
    versions = (ASSETS / "vendor" / "VERSIONS.md").read_text(encoding="utf-8")
    for package in ("bootstrap", "bootstrap-icons", "@fontsource/noto-nastaliq-urdu"):
        assert package in versions
