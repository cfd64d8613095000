"""Build the light map shapes the browser draws: assets/geo/{districts,divisions,provinces}.json.

Run:  .venv/bin/pip install shapely   (a build tool only: the app never imports shapely)
      .venv/bin/python data/build_map_shapes.py            # writes assets/geo/*.json, prints a report
      .venv/bin/python data/build_map_shapes.py --check    # verifies the committed files, writes nothing

Input: data/reference/pak_districts.geojson, pak_divisions.geojson, pak_provinces.geojson (OSM-derived,
ODbL: maps drawn from these must credit "© OpenStreetMap contributors") and pak_districts.csv for the
district -> division -> province hierarchy.

What it does:
  1. Simplifies the 156 districts together as one coverage with `shapely.coverage_simplify`, so a border
     two districts share is simplified once and stays shared (no slivers, no overlaps).
  2. Dissolves the simplified districts into the 37 divisions and 7 provinces (the reference divisions and
     provinces are exact unions of the districts; the build checks that), so the three levels nest exactly
     and a province outline drawn over a district map lies on district borders.
  3. Rounds coordinates to 3 decimals (about 100 m) with `shapely.set_precision`, which keeps the
     polygons valid.
  4. Orients every outer ring CLOCKWISE and holes counter-clockwise: the d3-geo / plotly.js convention
     (the opposite of RFC 7946). A ring the wrong way round paints the whole globe except the district.
  5. Writes compact GeoJSON FeatureCollections whose features carry `id` = the code and one property
     (`district_code` / `division_code` / `province_code`) and nothing else: names and numbers come
     from the app, so the browser fetches these files once (`geojson=app.get_asset_url(...)`) and caches
     them.
  6. Verifies: every geometry valid and non-empty; codes exactly those of pak_districts.csv,
     pak_divisions.csv, pak_provinces.csv (156 / 37 / 7); each level still a valid coverage; outer rings
     clockwise; each dissolved unit within a small area difference of its reference polygon; districts file
     no larger than 250 KB.

TOLERANCE is the `coverage_simplify` tolerance in degrees (roughly the square root of the area of the
triangles removed). 0.015 gives ~200 KB of districts with no district losing more than ~5 % of its area;
0.02 gives ~160 KB but squashes the smallest Karachi districts more.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from pathlib import Path

import numpy as np
import shapely
from shapely.geometry import mapping, shape

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = ROOT / "data" / "reference"
OUT = ROOT / "assets" / "geo"

TOLERANCE = 0.015
GRID = 0.001  # 3 decimals
MAX_DISTRICTS_BYTES = 250_000

LEVELS = {
    # output name: (reference stem, code property)
    "districts": ("pak_districts", "district_code"),
    "divisions": ("pak_divisions", "division_code"),
    "provinces": ("pak_provinces", "province_code"),
}


def _read_codes(stem: str, key: str) -> list[str]:
    with open(REFERENCE / f"{stem}.csv", newline="", encoding="utf-8") as f:
        return [row[key] for row in csv.DictReader(f)]


def _read_geojson(stem: str, key: str) -> dict[str, shapely.Geometry]:
    data = json.loads((REFERENCE / f"{stem}.geojson").read_text(encoding="utf-8"))
    out: dict[str, shapely.Geometry] = {}
    for feature in data["features"]:
        code = feature["properties"][key]
        if code in out:
            raise SystemExit(f"{stem}.geojson: duplicate {key} {code}")
        out[code] = shape(feature["geometry"])
    return out


def _round(coords):
    """Round nested coordinate lists to 3 decimals so the JSON holds the short decimal form."""
    if coords and isinstance(coords[0], float):
        return [round(v, 3) for v in coords]
    return [_round(c) for c in coords]


def _feature_collection(key: str, geoms: dict[str, shapely.Geometry]) -> dict:
    features = []
    for code, geom in geoms.items():
        m = mapping(geom)
        features.append(
            {
                "type": "Feature",
                "id": code,
                "properties": {key: code},
                "geometry": {"type": m["type"], "coordinates": _round(m["coordinates"])},
            }
        )
    return {"type": "FeatureCollection", "features": features}


def _polygons(geom: shapely.Geometry):
    return list(geom.geoms) if geom.geom_type == "MultiPolygon" else [geom]


def build(tolerance: float = TOLERANCE) -> dict[str, dict[str, shapely.Geometry]]:
    """Return {level: {code: simplified geometry}} for the three levels."""
    with open(REFERENCE / "pak_districts.csv", newline="", encoding="utf-8") as f:
        hierarchy = {r["district_code"]: r for r in csv.DictReader(f)}

    districts = _read_geojson("pak_districts", "district_code")
    codes = list(districts)
    source = np.array([districts[c] for c in codes])
    simplified = shapely.coverage_simplify(source, tolerance)
    rounded = shapely.set_precision(simplified, GRID)
    rounded = shapely.make_valid(rounded)  # no-op unless set_precision left something odd
    level_geoms: dict[str, dict[str, shapely.Geometry]] = {
        "districts": dict(zip(codes, rounded, strict=True))
    }

    for level, parent_key in (("divisions", "division_code"), ("provinces", "province_code")):
        stem = LEVELS[level][0]
        reference = _read_geojson(stem, parent_key)
        out: dict[str, shapely.Geometry] = {}
        for code in reference:
            members = [level_geoms["districts"][d] for d, row in hierarchy.items() if row[parent_key] == code]
            if not members:
                raise SystemExit(f"{stem}: {code} has no districts in pak_districts.csv")
            out[code] = shapely.set_precision(shapely.coverage_union_all(members), GRID)
        level_geoms[level] = out

    for level, geoms in level_geoms.items():
        level_geoms[level] = {code: shapely.orient_polygons(g, exterior_cw=True) for code, g in geoms.items()}
    return level_geoms


def verify(level_geoms: dict[str, dict[str, shapely.Geometry]], sizes: dict[str, int]) -> list[str]:
    """Return a list of problems (empty when all is well); print a short report."""
    problems: list[str] = []
    expected_counts = {"districts": 156, "divisions": 37, "provinces": 7}
    for level, (stem, key) in LEVELS.items():
        geoms = level_geoms[level]
        expected = _read_codes(stem, key)
        if sorted(geoms) != sorted(expected):
            problems.append(
                f"{level}: codes differ from {stem}.csv: "
                f"extra {sorted(set(geoms) - set(expected))}, missing {sorted(set(expected) - set(geoms))}"
            )
        if len(geoms) != expected_counts[level]:
            problems.append(f"{level}: {len(geoms)} features, expected {expected_counts[level]}")
        arr = np.array(list(geoms.values()))
        for code, g in geoms.items():
            if g.is_empty or g.geom_type not in ("Polygon", "MultiPolygon"):
                problems.append(f"{level} {code}: empty or not a polygon ({g.geom_type})")
            elif not g.is_valid:
                problems.append(f"{level} {code}: invalid: {shapely.is_valid_reason(g)}")
            for poly in _polygons(g):
                if poly.exterior.is_ccw:
                    problems.append(f"{level} {code}: outer ring counter-clockwise")
                if any(not ring.is_ccw for ring in poly.interiors):
                    problems.append(f"{level} {code}: hole clockwise")
        if not shapely.coverage_is_valid(arr):
            problems.append(f"{level}: not a valid coverage (overlaps or mismatched shared edges)")

        reference = _read_geojson(stem, key)
        ratios = [shapely.area(geoms[c]) / shapely.area(reference[c]) for c in geoms if c in reference]
        worst_symdiff = max(
            shapely.area(shapely.symmetric_difference(geoms[c], reference[c])) / shapely.area(reference[c])
            for c in geoms
            if c in reference
        )
        if worst_symdiff > 0.25:
            problems.append(
                f"{level}: a unit differs from its reference polygon by {worst_symdiff:.0%} of its area"
            )
        n_points = int(shapely.get_num_coordinates(arr).sum())
        print(
            f"{level:10s} {len(geoms):4d} features  {sizes.get(level, 0):8,d} bytes  {n_points:6,d} points  "
            f"area ratio {min(ratios):.3f}..{max(ratios):.3f}  worst sym.diff {worst_symdiff:.1%}"
        )
    if sizes.get("districts", 0) > MAX_DISTRICTS_BYTES:
        problems.append(f"districts.json is {sizes['districts']:,} bytes (> {MAX_DISTRICTS_BYTES:,})")
    return problems


def _dumps(fc: dict) -> str:
    return json.dumps(fc, separators=(",", ":"), ensure_ascii=True) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tolerance", type=float, default=TOLERANCE)
    parser.add_argument(
        "--check",
        action="store_true",
        help="rebuild in memory and compare with the files in assets/geo; write nothing",
    )
    args = parser.parse_args(argv)

    level_geoms = build(args.tolerance)
    texts = {
        level: _dumps(_feature_collection(LEVELS[level][1], geoms)) for level, geoms in level_geoms.items()
    }
    sizes = {level: len(t.encode()) for level, t in texts.items()}
    problems = verify(level_geoms, sizes)

    if args.check:
        for level, text in texts.items():
            path = OUT / f"{level}.json"
            if not path.exists() or path.read_text(encoding="utf-8") != text:
                problems.append(f"{path.relative_to(ROOT)} is missing or out of date: rerun the build")
    if problems:
        print("\n".join(f"PROBLEM: {p}" for p in problems), file=sys.stderr)
        return 1
    if not args.check:
        OUT.mkdir(parents=True, exist_ok=True)
        for level, text in texts.items():
            (OUT / f"{level}.json").write_text(text, encoding="utf-8")
        print(
            f"wrote {', '.join(f'assets/geo/{lvl}.json' for lvl in texts)} "
            f"({sum(sizes.values()):,} bytes in all)"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
