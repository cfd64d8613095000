"""A plain description of the cubes (for `nser cubes list --json`, the API and the app's pickers)."""

from __future__ import annotations

from cubes.model import Model, load_model


def describe_cubes(model: Model | None = None) -> dict:
    model = model or load_model()
    cubes = []
    for cube in model.cubes.values():
        dims = []
        for d in cube.dimensions:
            dim = model.dimensions[d]
            dims.append(
                {
                    "name": d,
                    "description": dim.description,
                    "level": dim.level,
                    "members": None
                    if dim.members is None
                    else [
                        {"code": m.code, "label": m.label, "description": m.description} for m in dim.members
                    ],
                }
            )
        measures = [
            {
                "name": m.name,
                "type": m.type,
                "description": m.description,
                "unit": m.unit,
                "tiers": list(m.tiers),
                **({"numerator": m.numerator, "denominator": m.denominator} if m.type == "share" else {}),
            }
            for m in cube.measures.values()
        ]
        cubes.append(
            {
                "name": cube.name,
                "title": cube.title,
                "description": cube.description,
                "unit": cube.unit,
                "dimensions": dims,
                "measures": measures,
                "tiers": {t: {"lowest_geography": r.lowest_geography} for t, r in cube.tiers.items()},
                "forbidden_combinations": [
                    {"dimensions": list(f.dimensions), "geography": list(f.geography), "tiers": list(f.tiers)}
                    for f in cube.forbidden
                ],
            }
        )
    geography = [{"name": g.name, "column": g.column, "description": g.description} for g in model.geography]
    tiers = {
        t: {k: v for k, v in spec.items() if k in ("description", "max_variables", "max_cells")}
        for t, spec in model.policy["tiers"].items()
    }
    return {"geography": geography, "tiers": tiers, "cubes": cubes}
