"""Shared page pieces: header, protection note, headline cards, alerts. Pure: data in, components out."""

from __future__ import annotations

import dash_bootstrap_components as dbc
from dash import dcc, html

from dashboard import i18n
from dashboard.i18n import N_, _, translated

PROTECTION_NOTE = N_(
    "Figures are perturbed slightly and small counts are suppressed (shown as “x”) to protect "
    "households; cells are protected one by one, so parts need not add up to totals."
)
MIS_NOTE = N_("Unprotected: true values for the MIS team. Do not share outside BISP without protection.")
OSM_CREDIT = N_("Map boundaries © OpenStreetMap contributors (ODbL)")


def fmt(value, kind: str = "count") -> str:
    """A number as shown on pages: grouped the reader's way (1,234,567 or 12,34,567, Latin or Urdu
    digits), one decimal for shares and means, x when suppressed."""
    if value is None:
        return "x"
    if kind == "share":
        text = i18n.group(value, 1)
        return text + ("٪" if any("۰" <= c <= "۹" for c in text) else "%")
    if kind in ("mean", "sum") and abs(value) < 1000:
        return i18n.group(value, 1)
    return i18n.group(round(value))


def provenance(as_of: str | None, snapshot_id: str | None, protected: bool = True) -> html.Div:
    """The snapshot date and, below MIS, the protection note; MIS gets the unprotected marker."""
    children = [
        # the date stays left to right inside Urdu text (else 2026-06-30 reads 30-06-2026)
        html.Span(
            [_("Registry as of"), " ", html.Span(as_of, dir="ltr", className="ltr")],
            className="me-2 fw-semibold",
        )
        if as_of
        else None
    ]
    if protected:
        children.append(html.Span(_(PROTECTION_NOTE), className="text-body-secondary"))
    else:
        children.append(
            dbc.Badge(_("UNPROTECTED"), color="danger", className="me-2", id="unprotected-marker")
        )
        children.append(html.Span(_(MIS_NOTE), className="text-danger"))
    return html.Div(
        [c for c in children if c is not None],
        className="small my-2",
        title=translated("snapshot {id}", id=snapshot_id) if snapshot_id else None,
    )


def headline(title: str, value: str, sub: str | None = None, icon: str | None = None) -> dbc.Col:
    body = [
        html.Div(
            [html.I(className=f"bi bi-{icon} me-2") if icon else None, title],
            className="text-body-secondary small text-uppercase",
        ),
        html.Div(value, className="fs-3 fw-semibold headline-value"),
    ]
    if sub:
        body.append(html.Div(sub, className="small text-body-secondary"))
    return dbc.Col(
        dbc.Card(dbc.CardBody(body), className="h-100 shadow-sm"), xs=6, md=4, lg=True, className="mb-3"
    )


def refusal(reason: str) -> dbc.Alert:
    return dbc.Alert(
        # the server's words, in the reader's language
        [html.I(className="bi bi-shield-lock me-2"), _(reason)],
        color="warning",
        className="my-2",
        id="refusal-message",
    )


def section(
    title: str, children, id_: str | None = None, download: str | None = None, kind: str = "download"
) -> dbc.Card:
    """A card with a title and, where the chart can be downloaded, CSV and XLSX buttons (their ids are
    ``{"type": f"{kind}-csv", "section": download}``, so each page's download callback sees only its own)."""
    header = [html.H2(title, className="h6 mb-0 flex-grow-1")]
    if download:
        header += [
            dbc.Button(
                [html.I(className="bi bi-filetype-csv me-1"), "CSV"],
                size="sm",
                color="link",
                id={"type": f"{kind}-csv", "section": download},
                className="py-0 text-primary-emphasis",  # the link blue on the card header fails contrast
            ),
            dbc.Button(
                [html.I(className="bi bi-file-earmark-spreadsheet me-1"), "XLSX"],
                size="sm",
                color="link",
                id={"type": f"{kind}-xlsx", "section": download},
                className="py-0 text-primary-emphasis",
            ),
        ]
    if download and _has_graph(children):  # a chart's text alternative: what it shows, where its numbers are
        children = html.Div(
            children,
            role="img",
            **{
                "aria-label": translated(
                    "Chart: {title}. Its numbers are in the CSV and XLSX downloads.", title=title
                )
            },
        )
    card = dbc.Card(
        [dbc.CardHeader(html.Div(header, className="d-flex align-items-center")), dbc.CardBody(children)],
        className="mb-3 shadow-sm",
    )
    if id_:
        card.id = id_
    return card


def _has_graph(component) -> bool:
    if isinstance(component, dcc.Graph):
        return True
    inner = getattr(component, "children", None)
    if isinstance(inner, list | tuple):
        return any(_has_graph(c) for c in inner)
    return inner is not None and not isinstance(inner, str) and _has_graph(inner)


def loading(child) -> dcc.Loading:
    return dcc.Loading(child, type="dot", delay_show=300)


# the texts AG Grid writes itself (its English defaults), for every grid of the app
GRID_TEXT = {
    "page": N_("Page"),
    "of": N_("of"),
    "to": N_("to"),
    "more": N_("more"),
    "firstPage": N_("First Page"),
    "previousPage": N_("Previous Page"),
    "nextPage": N_("Next Page"),
    "lastPage": N_("Last Page"),
    "pageSizeSelectorLabel": N_("Page Size:"),
    "ariaPageSizeSelectorLabel": N_("Page Size"),
    "noRowsToShow": N_("No Rows To Show"),
    "loadingOoo": N_("Loading..."),
}


def grid_options(**options) -> dict:
    """dashGridOptions in the reader's language: AG Grid's own words translated, right to left on Urdu
    pages."""
    return {
        **options,
        "localeText": {k: _(v) for k, v in GRID_TEXT.items()},
        "enableRtl": i18n.direction() == "rtl",
    }


def coded(text: str) -> list:
    """A sentence whose `backticked` parts are typed as they are — commands, codes, JSON keys — with those
    parts set as code: they stay English and left to right inside an Urdu sentence."""
    parts = text.split("`")
    return [html.Code(p) if i % 2 else p for i, p in enumerate(parts) if p]


def english(text):
    """Text that stays English on every page — a mail as it was sent, a feed's field codes, an explanation
    composed in English — marked so (lang="en", left to right): a screen reader reads it as English and
    an Urdu page does not put its full stop first."""
    if i18n.language() == i18n.DEFAULT or not text:
        return text
    return html.Span(text, lang="en", dir="ltr", className="ltr")


def said(text: str):
    """A message the server composed (an error, a refusal, a delivery problem): in the reader's language
    where the catalog has its template, else the English, marked as English."""
    shown = _(text)
    return english(text) if shown == text else shown
