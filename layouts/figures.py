"""Figures from gateway results: pure functions, plotly.graph_objects only (fast), no data access here."""

from __future__ import annotations

import plotly.graph_objects as go
import plotly.io as pio

from cubes.model import load_model
from dashboard import i18n, place_names
from dashboard.i18n import N_, _

PALETTE = ["#0b6e4f", "#3a86c8", "#f4a259", "#bc4b51", "#8e7dbe", "#5b8e7d", "#e9c46a", "#264653", "#9c6644"]
MAP_CREDIT = N_("© OpenStreetMap contributors")

_AXIS = dict(gridcolor="#EBF0F8", linecolor="#EBF0F8", zerolinecolor="#EBF0F8", zerolinewidth=2, ticks="")
# The look of plotly_white in a few keys. Every go.Figure copies the default template when it is built,
# and plotly_white's full template (styles for every trace type) made each figure cost ~50 ms to build
# and ~10 kB to send; a district dashboard has eight.
pio.templates["nser"] = go.layout.Template(
    layout=dict(
        plot_bgcolor="white",
        paper_bgcolor="white",
        colorway=PALETTE,
        font=dict(color="#2a3f5f"),
        hoverlabel=dict(align="left"),
        xaxis={**_AXIS, "automargin": True},
        yaxis={**_AXIS, "automargin": True},
        geo=dict(bgcolor="white", landcolor="white", subunitcolor="#C8D4E3", showland=True),
    )
)
pio.templates.default = "nser"


def label(dim: str, code: str) -> str:
    """A member's label in the reader's language (codes stay the values; labels are what people read)."""
    if code == "_total":
        return _("Total")
    dimension = load_model().dimensions.get(dim)
    if dimension is None or dimension.members is None:
        return code
    for m in dimension.members:
        if m.code == code:
            return _(m.label)
    return code


def _rtl() -> bool:
    return i18n.direction() == "rtl"


def _number(value, unit: str = "") -> str:
    """A number for a hover label, grouped the reader's way (lakh/crore, Urdu digits); as plotly's
    ``%{y:,}`` writes it otherwise (up to 12 significant digits, no trailing zeros)."""
    if value is None:
        return ""
    if isinstance(value, float) and not value.is_integer():
        digits = format(value, ".12g")
        decimals = len(digits.partition(".")[2]) if "e" not in digits else 1
        return i18n.group(value, decimals) + unit
    return i18n.group(value) + unit


def _in_member_order(rows: list[dict], dims: list[str]) -> list[dict]:
    """Rows ordered as the classification lists its members (PMT bands low to high, ages young to old)."""
    model = load_model()
    keys = []
    for d in dims:
        dim = model.dimensions.get(d)
        if dim is not None and dim.members is not None:
            order = {m.code: i for i, m in enumerate(dim.members)}
            keys.append(lambda r, d=d, order=order: order.get(r[d], len(order)))
    if not keys:
        return rows
    return sorted(rows, key=lambda r: tuple(k(r) for k in keys))


def _layout(title: str | None = None, height: int = 320, **extra) -> dict:
    """The shared layout as one dict: a figure built in one constructor costs ~1 ms, one adjusted
    afterwards with update_layout ~5 ms per call (plotly re-validates every path). Right-to-left pages
    get the legend, title and hover text on the right and an Urdu face."""
    layout = dict(
        title=title,
        height=height,
        margin=dict(l=10, r=10, t=40 if title else 10, b=10),
        font=dict(family="system-ui, sans-serif", size=12),
        legend=dict(orientation="h", yanchor="bottom", y=1.02, x=0),
    )
    if _rtl():
        layout["font"] = dict(family="'Noto Nastaliq Urdu', system-ui, sans-serif", size=12)
        layout["legend"] = dict(orientation="h", yanchor="bottom", y=1.02, x=1, xanchor="right")
        layout["hoverlabel"] = dict(align="right")
        if title:
            layout["title"] = dict(text=title, x=1, xanchor="right")
    return layout | extra


def empty(message: str) -> go.Figure:
    return go.Figure(
        layout=_layout(
            height=200,
            annotations=[dict(text=_(message), showarrow=False, x=0.5, y=0.5, xref="paper", yref="paper")],
            xaxis=dict(visible=False),
            yaxis=dict(visible=False),
        )
    )


def bar(
    rows: list[dict],
    category: str,
    measure: str,
    series: str | None = None,
    stacked: bool = False,
    horizontal: bool = False,
    title: str | None = None,
    unit: str = "",
    name: str | None = None,
) -> go.Figure:
    """Bars of one measure by a category, optionally one series per member of a second dimension.

    ``name`` is what the hover calls the bars when there is no series (the measure's code if not given).
    On right-to-left pages the chart is mirrored: categories run from the right, values on the right."""
    traces = []
    rows = _in_member_order(rows, [c for c in (category, series) if c])
    groups = [None] if series is None else list(dict.fromkeys(r[series] for r in rows))
    is_dimension = category in load_model().dimensions
    for i, g in enumerate(groups):
        sub = [r for r in rows if series is None or r[series] == g]
        xs = [label(category, r[category]) if is_dimension else _area_name(r, category) for r in sub]
        ys = [r[measure] for r in sub]
        text = ["x" if y is None else None for y in ys]
        kwargs = dict(
            name=label(series, g) if series else name or measure,
            marker_color=PALETTE[i % len(PALETTE)],
            text=text,
            textposition="outside",
            customdata=[_number(y, unit) for y in ys],
            hovertemplate="%{customdata}<extra>%{fullData.name}</extra>",
        )
        if horizontal:
            traces.append(go.Bar(y=xs, x=ys, orientation="h", **{**kwargs, "hovertemplate": "%{customdata}"}))
        else:
            traces.append(go.Bar(x=xs, y=ys, **kwargs))
    layout = _layout(title, barmode="stack" if stacked else "group", showlegend=series is not None)
    if _rtl():  # the first category and the first series on the right, where a reader starts
        layout |= dict(xaxis=dict(autorange="reversed"), yaxis=dict(side="right"))
        layout["legend"]["traceorder"] = "reversed"
    return go.Figure(data=traces, layout=layout)


def _area_name(row: dict, col: str) -> str:
    """A category that is not a dimension's member: an area's name where the column is a code
    (``district_code`` beside ``district_name``, in Urdu where an Urdu name exists), else the value."""
    if not col.endswith("_code"):
        return row[col]
    code = row[col]
    return place_names.text(code, row.get(col.replace("_code", "_name")) or code)


def pyramid(
    rows: list[dict],
    measure: str,
    age: str = "age_group",
    sex: str = "gender",
    title: str | None = None,
    note: str | None = None,
) -> go.Figure:
    """Population pyramid: men to the left, women to the right; ``note`` is written under it."""
    ages = [m.code for m in load_model().dimensions[age].members]
    by = {(r[age], r[sex]): r[measure] for r in rows}
    traces = []
    for s, sign, color in (("male", -1, PALETTE[1]), ("female", 1, PALETTE[3])):
        vals = [by.get((a, s)) for a in ages]
        traces.append(
            go.Bar(
                y=[label(age, a) for a in ages],
                x=[None if v is None else sign * v for v in vals],
                orientation="h",
                name=label(sex, s),
                marker_color=color,
                customdata=[_number(v) for v in vals],
                hovertemplate="%{customdata}<extra>%{fullData.name}</extra>",
            )
        )
    notes = (
        [
            dict(
                text=note,
                showarrow=False,
                x=1,
                y=-0.12,
                xref="paper",
                yref="paper",
                xanchor="right",
                font=dict(size=11),
            )
        ]
        if note
        else []
    )
    layout = _layout(
        title, barmode="relative", bargap=0.1, xaxis=dict(tickformat=",", title=None), annotations=notes
    )
    if _rtl():  # men stay on the left (the convention); the ages move to the right, where a reader starts
        layout["yaxis"] = dict(side="right")
        if note:  # Nastaliq is taller: the note goes under the tick labels, not across them
            layout["annotations"] = [notes[0] | dict(y=0, yanchor="top", yshift=-24)]
            layout["margin"] = layout["margin"] | dict(b=56)
    return go.Figure(data=traces, layout=layout)


def choropleth(
    rows: list[dict],
    code_col: str,
    measure: str,
    geojson_url: str,
    title: str | None = None,
    unit: str = "",
    colorscale: str = "YlGnBu",
    height: int = 480,
) -> go.Figure:
    """A choropleth drawn from the app's own shapes (no tiles, no topojson download)."""
    name_col = code_col.replace("_code", "_name")
    codes = [r[code_col] for r in rows]
    values = [r[measure] for r in rows]
    names = [place_names.text(c, r.get(name_col) or c) for r, c in zip(rows, codes, strict=True)]
    suppressed = _("x (suppressed)")
    shown = [
        suppressed if v is None else i18n.group(v, 1 if isinstance(v, float) else 0) + unit for v in values
    ]
    # A grey layer of every area underneath: a suppressed area stays visible (and says so on hover).
    fig = go.Figure(
        go.Choropleth(
            geojson=geojson_url,
            featureidkey="id",
            locations=codes,
            z=[0] * len(codes),
            showscale=False,
            colorscale=[[0, "#d9d9d9"], [1, "#d9d9d9"]],
            marker_line_color="white",
            marker_line_width=0.5,
            customdata=list(zip(names, shown, strict=True)),
            hovertemplate="<b>%{customdata[0]}</b><br>%{customdata[1]}<extra></extra>",
            name="all areas",
        )
    )
    published = [i for i, v in enumerate(values) if v is not None]
    fig.add_trace(
        go.Choropleth(
            geojson=geojson_url,
            featureidkey="id",
            locations=[codes[i] for i in published],
            z=[values[i] for i in published],
            colorscale=colorscale,
            marker_line_color="white",
            marker_line_width=0.5,
            customdata=[(names[i], shown[i]) for i in published],
            hovertemplate="<b>%{customdata[0]}</b><br>%{customdata[1]}<extra></extra>",
            colorbar=dict(title=dict(text=unit.strip() or None), thickness=12, len=0.7),
            name="value",
        )
    )
    fig.update_geos(fitbounds="locations", visible=False, projection_type="mercator")
    fig.add_annotation(
        text=_(MAP_CREDIT),
        showarrow=False,
        x=0,
        y=0,
        xref="paper",
        yref="paper",
        font=dict(size=10),
        xanchor="left",
        yanchor="bottom",
    )
    fig.update_layout(
        _layout(title, height, clickmode="event") | {"margin": dict(l=0, r=0, t=30 if title else 0, b=0)}
    )
    return fig


def stacked_counts(
    categories: list[str], series: dict[str, list[int]], title: str | None = None
) -> go.Figure:
    """Stacked bars of plain counts (e.g. integration events by feed and state, from the app's store)."""
    layout = _layout(title=title, barmode="stack", xaxis=dict(type="category"))  # months are labels
    layout["legend"] = dict(orientation="h", yanchor="top", y=-0.15, x=0)  # below: the title stays clear
    return go.Figure(
        [go.Bar(name=name, x=categories, y=values) for name, values in series.items()], layout=layout
    )
