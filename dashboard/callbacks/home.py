"""Home page callbacks: national headline figures and the map."""

from __future__ import annotations

from dash import Input, Output, callback, get_app, no_update

from dashboard.answers import ask, ask_many
from dashboard.i18n import _, translated
from layouts import components, figures, ids
from layouts.home import MAP_MEASURES


def national_headlines() -> tuple[list, object]:
    national = {"level": "national"}
    answers = ask_many(
        {
            "households": {
                "cube": "households",
                "measures": ["households", "beneficiary_households", "share_at_or_below_cutoff"],
                "geography": national,
            },
            "persons": {"cube": "persons", "measures": ["persons", "beneficiaries"], "geography": national},
            "cct": {
                "cube": "education_cct",
                "measures": ["enrolments"],
                "dimensions": ["quarter"],
                "geography": national,
            },
        }
    )
    hh, pp, cct = answers["households"], answers["persons"], answers["cct"]
    if not (hh.ok and pp.ok):
        return [components.refusal(hh.reason or pp.reason)], None
    h, p = hh.rows[0], pp.rows[0]
    latest = cct.rows[-1] if cct.ok and cct.rows else {"quarter": "", "enrolments": None}
    cards = [
        components.headline(_("Households"), components.fmt(h["households"]), _("in the registry"), "house"),
        components.headline(_("Persons"), components.fmt(p["persons"]), _("household members"), "people"),
        components.headline(
            _("Kafaalat beneficiaries"),
            components.fmt(p["beneficiaries"]),
            translated("{n} households", n=components.fmt(h["beneficiary_households"])),
            "cash-coin",
        ),
        components.headline(
            _("At or below cut-off"),
            components.fmt(h["share_at_or_below_cutoff"], "share"),
            _("PMT score ≤ 32"),
            "graph-down",
        ),
        components.headline(
            _("Taleemi Wazaif"),
            components.fmt(latest["enrolments"]),
            translated("children enrolled, {quarter}", quarter=latest["quarter"]),
            "mortarboard",
        ),
    ]
    return cards, hh


@callback(
    Output(ids.HOME_CARDS, "children"),
    Output(ids.HOME_PROVENANCE, "children"),
    Input(ids.HOME_MAP_LEVEL, "id"),
)
def cards(_):
    cards_, result = national_headlines()
    prov = components.provenance(result.as_of, result.snapshot_id, result.tier != "mis") if result else None
    return cards_, prov


@callback(
    Output(ids.HOME_MAP, "figure"), Input(ids.HOME_MAP_LEVEL, "value"), Input(ids.HOME_MAP_MEASURE, "value")
)
def home_map(level: str, measure: str):
    if level not in ("province", "district") or measure not in MAP_MEASURES:
        return figures.empty(_("Choose a map level and a measure."))
    result = ask({"cube": "households", "measures": [measure], "geography": {"level": level}})
    if not result.ok:
        return figures.empty(result.reason)
    shapes = get_app().get_asset_url(f"geo/{level}s.json")
    unit = "%" if measure.startswith("share") else ""
    return figures.choropleth(result.rows, f"{level}_code", measure, shapes, unit=unit)


@callback(
    Output(ids.HOME_NAV, "href"),
    Input(ids.HOME_MAP, "clickData"),
    Input(ids.HOME_SEARCH, "value"),
    prevent_initial_call=True,
)
def open_district(click, searched):
    code = searched
    if click and click.get("points"):
        code = click["points"][0].get("location")
    if (
        not code
        or not isinstance(code, str)
        or len(code) < 5
        or code[:3] not in {f"PK{i}" for i in range(1, 8)}
    ):
        return no_update
    return f"/district/{code}"
