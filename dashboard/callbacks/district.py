"""District dashboard callbacks: every section's query is defined once, for its chart and its download."""

from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import ALL, Input, Output, State, callback, ctx, dcc, html, no_update

from cubes.model import load_model
from dashboard import place_names
from dashboard.answers import ask, ask_many, to_csv, to_xlsx
from dashboard.district_questions import dashboard_queries, province_of, section_queries
from dashboard.i18n import N_, _, translated
from layouts import components, figures, ids


def run_section(key: str, district: str):
    return ask(section_queries(district)[key])


ASSET_LABELS = {
    "households_with_refrigerator": N_("Refrigerator"),
    "households_with_television": N_("Television"),
    "households_with_motorcycle": N_("Motorcycle"),
    "households_with_car": N_("Car"),
    "households_with_livestock": N_("Livestock"),
}
EDUCATION_LABELS = {"literacy_rate": N_("Literacy (10+)"), "enrolment_rate": N_("Enrolled (5–16)")}


def figure_for(key: str, result):
    if not result.ok:
        return figures.empty(result.reason)
    rows = result.rows
    # name=: what a bar's hover calls a chart without series (English pages show the measure's code)
    if key == "pmt":
        return figures.bar(rows, "pmt_band", "households", name=_("households"))
    if key == "beneficiaries":
        return figures.pyramid(rows, "beneficiaries", note=_("Kafaalat goes to ever-married women"))
    if key == "education":
        long = [
            {"gender": r["gender"], "measure": _(EDUCATION_LABELS[m]), "value": r[m]}
            for r in rows
            for m in EDUCATION_LABELS
        ]
        return figures.bar(long, "measure", "value", series="gender", unit="%")
    if key == "disability":
        return figures.bar(
            [r for r in rows if r["disability_type"] != "none"],
            "disability_type",
            "persons_with_disability",
            horizontal=True,
            name=_("persons_with_disability"),
        )
    if key == "cct":
        return figures.bar(rows, "quarter", "enrolments", series="cct_level", stacked=True)
    if key == "dwelling":
        return figures.bar(rows, "dwelling_structure", "households", series="toilet", stacked=True)
    if key == "assets":
        r = rows[0]
        total = r["households"]
        shares = [
            {
                "asset": _(ASSET_LABELS[m]),
                "share": None if r[m] is None or not total else round(100 * r[m] / total, 1),
            }
            for m in ASSET_LABELS
        ]
        return figures.bar(shares, "asset", "share", unit="%", name=_("share"))
    return figures.empty("")


def tehsil_table(result) -> html.Div:
    if not result.ok:
        return components.refusal(result.reason)
    head = html.Thead(
        html.Tr(
            [
                html.Th(_("Tehsil")),
                html.Th(_("Households"), className="text-end"),
                html.Th(_("≤ cut-off"), className="text-end"),
                html.Th(_("Beneficiary"), className="text-end"),
            ]
        )
    )
    body = html.Tbody(
        [
            html.Tr(
                [
                    html.Td(place_names.component(r.get("tehsil_code"), r["tehsil_name"])),
                    html.Td(components.fmt(r["households"]), className="text-end"),
                    html.Td(components.fmt(r["share_at_or_below_cutoff"], "share"), className="text-end"),
                    html.Td(components.fmt(r["share_beneficiary"], "share"), className="text-end"),
                ]
            )
            for r in result.rows
        ]
    )
    floor = load_model().tier(result.tier).get("min_area_households", 0)
    note = html.Small(
        translated(
            "Tehsils with fewer than {n} registered households are not shown separately (x).",
            n=components.fmt(floor),
        )
        if floor
        else "",
        className="text-body-secondary",
    )
    return html.Div(
        [dbc.Table([head, body], size="sm", striped=True, responsive=True, className="mb-1"), note]
    )


def comparison_cards(answers: dict):
    out = {
        level: (answers[f"{level}:households"], answers[f"{level}:persons"])
        for level in ("district", "province", "national")
    }
    hh, pp = out["district"]
    if not (hh.ok and pp.ok):
        return [components.refusal(hh.reason or pp.reason)], hh

    def compare(cube_index: int, measure: str) -> str:
        parts = []
        for level, template in (("province", N_("province {value}")), ("national", N_("Pakistan {value}"))):
            res = out[level][cube_index]
            value = res.rows[0][measure] if res.ok and res.rows else None
            parts.append(translated(template, value=components.fmt(value, "share")))
        return " · ".join(parts)

    h, p = hh.rows[0], pp.rows[0]
    cards = [
        components.headline(
            _("Households"),
            components.fmt(h["households"]),
            translated("{n} persons", n=components.fmt(p["persons"])),
            "house",
        ),
        components.headline(
            _("At or below cut-off"),
            components.fmt(h["share_at_or_below_cutoff"], "share"),
            compare(0, "share_at_or_below_cutoff"),
            "graph-down",
        ),
        components.headline(
            _("Beneficiary households"),
            components.fmt(h["share_beneficiary"], "share"),
            translated("{n} women", n=components.fmt(p["beneficiaries"]))
            + " · "
            + compare(0, "share_beneficiary"),
            "cash-coin",
        ),
        components.headline(
            _(EDUCATION_LABELS["literacy_rate"]),
            components.fmt(p["literacy_rate"], "share"),
            compare(1, "literacy_rate"),
            "book",
        ),
        components.headline(
            _("Disability"),
            components.fmt(p["disability_prevalence"], "share"),
            compare(1, "disability_prevalence"),
            "universal-access",
        ),
    ]
    return cards, hh


SECTION_KEYS = ("pmt", "beneficiaries", "education", "disability", "cct", "dwelling", "assets")


@callback(
    Output(ids.DISTRICT_CARDS, "children"),
    Output(ids.DISTRICT_PROVENANCE, "children"),
    *[Output({"type": "district-graph", "section": k}, "figure") for k in SECTION_KEYS],
    Output("district-tehsils", "children"),
    Input(ids.DISTRICT_CODE, "data"),
)
def district_dashboard(district: str):
    if not isinstance(district, str) or province_of(district) is None:
        empty = figures.empty(_("Unknown district"))
        return [components.refusal(_("Unknown district."))], None, *[empty] * len(SECTION_KEYS), None
    answers = ask_many(dashboard_queries(district))
    cards, base = comparison_cards(answers)
    prov = components.provenance(base.as_of, base.snapshot_id, base.tier != "mis")
    figs = [figure_for(k, answers[k]) for k in SECTION_KEYS]
    return cards, prov, *figs, tehsil_table(answers["tehsils"])


@callback(
    Output(ids.DISTRICT_DOWNLOAD, "data"),
    Input({"type": "download-csv", "section": ALL}, "n_clicks"),
    Input({"type": "download-xlsx", "section": ALL}, "n_clicks"),
    State(ids.DISTRICT_CODE, "data"),
    prevent_initial_call=True,
)
def download(_csv, _xlsx, district: str):
    trigger = ctx.triggered_id
    if not trigger or not ctx.triggered or not ctx.triggered[0].get("value"):
        return no_update
    key = trigger["section"]
    if key not in section_queries(district or "") or province_of(district or "") is None:
        return no_update
    result = run_section(key, district)
    if not result.ok:
        return no_update
    name = f"nser-{district}-{key}-{result.as_of}"
    if trigger["type"] == "download-csv":
        return dcc.send_string(to_csv(result), f"{name}.csv")
    return dcc.send_bytes(to_xlsx(result), f"{name}.xlsx")
