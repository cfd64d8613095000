"""A published report as one PDF: its stamp (version, approval, registry date), then each panel as a
table of exactly the protected values shown on screen, with a bar chart where the panel is a chart.

Drawn with reportlab (tables and charts natively), so no browser or image renderer runs on the server.
"""

from __future__ import annotations

import io

from reportlab.graphics.charts.barcharts import HorizontalBarChart
from reportlab.graphics.shapes import Drawing
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.lib.units import cm
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from dashboard.answers import SUPPRESSED_NOTE, tabulate
from dashboard.publication import RenderedReport

GREEN = colors.HexColor("#0b6e4f")
MAX_BARS = 40


def _fmt(value, unit: str | None) -> str:
    if value is None:
        return "x"
    if isinstance(value, float):
        return f"{value:,.1f}"
    return f"{value:,}"


def _chart(table) -> Drawing | None:
    """Horizontal bars of the first value column by row label (areas or categories), when readable."""
    values = [i for i, k in enumerate(table.kinds) if k == "value"]
    labels = [i for i, k in enumerate(table.kinds) if k in ("name", "category")]
    if not values or not labels or not 1 < len(table.rows) <= MAX_BARS:
        return None
    v, lab = values[0], labels[-1]
    data = [r[v] if isinstance(r[v], (int, float)) else 0 for r in table.rows]
    names = [str(r[lab])[:28] for r in table.rows]
    height = 14 * len(data) + 30
    drawing = Drawing(16 * cm, height)
    chart = HorizontalBarChart()
    chart.x, chart.y, chart.width, chart.height = 5 * cm, 10, 10.5 * cm, height - 20
    chart.data = [list(reversed(data))]
    chart.categoryAxis.categoryNames = list(reversed(names))
    chart.categoryAxis.labels.fontSize = 7
    chart.valueAxis.labels.fontSize = 7
    chart.valueAxis.valueMin = 0
    chart.bars[0].fillColor = GREEN
    drawing.add(chart)
    return drawing


def report_pdf(report: RenderedReport) -> bytes:
    """The whole report as PDF bytes."""
    styles = getSampleStyleSheet()
    small = styles["BodyText"].clone("small", fontSize=8, leading=10, textColor=colors.HexColor("#555555"))
    info, design = report.info, report.info.design
    story = [
        Paragraph(design["title"], styles["Title"]),
        Paragraph(design["description"], styles["BodyText"]),
    ]
    as_of = next((r.as_of for _, r in report.panels if r.as_of), None)
    stamp = [f"Version {info.version}"]
    if info.approved_by:
        stamp.append(f"approved by {info.approved_by} on {info.approved_at:%d %B %Y}")
    if as_of:
        stamp.append(f"registry as of {as_of}")
    if report.parameters:
        stamp.append(", ".join(f"{k}: {v}" for k, v in report.parameters.items()))
    story += [Paragraph(" · ".join(stamp), small), Spacer(1, 0.4 * cm)]
    for panel, result in report.panels:
        story.append(Paragraph(panel["title"], styles["Heading2"]))
        if not result.ok:
            story.append(Paragraph(result.reason or "not available", styles["BodyText"]))
            continue
        table = tabulate(result)
        if panel["visual"] in ("bar", "stacked", "map") and (drawing := _chart(table)) is not None:
            story.append(drawing)
        rows = [table.headers] + [
            [
                _fmt(c, u) if k == "value" else str(c)
                for c, k, u in zip(r, table.kinds, table.units, strict=True)
            ]
            for r in table.rows
        ]
        grid = Table(rows, repeatRows=1, hAlign="LEFT")
        grid.setStyle(
            TableStyle(
                [
                    ("FONTSIZE", (0, 0), (-1, -1), 7.5),
                    ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#e9f2ee")),
                    ("LINEBELOW", (0, 0), (-1, 0), 0.6, GREEN),
                    ("ALIGN", (0, 1), (-1, -1), "LEFT"),
                    *[("ALIGN", (i, 1), (i, -1), "RIGHT") for i, k in enumerate(table.kinds) if k == "value"],
                    ("ROWBACKGROUNDS", (0, 1), (-1, -1), [colors.white, colors.HexColor("#f6f6f6")]),
                ]
            )
        )
        story += [grid, Spacer(1, 0.2 * cm)]
        if panel.get("note"):
            story.append(Paragraph(panel["note"], small))
        if any(c is None for r in table.rows for c, k in zip(r, table.kinds, strict=True) if k == "value"):
            story.append(Paragraph(SUPPRESSED_NOTE.replace("shown as x on screen", "shown as x"), small))
    if report.info.design["audience"] == "public":
        story.append(Spacer(1, 0.3 * cm))
        story.append(
            Paragraph(
                "Figures are perturbed slightly and small counts suppressed to protect households. "
                "Benazir Income Support Programme — National Socio-Economic Registry.",
                small,
            )
        )
    buffer = io.BytesIO()
    SimpleDocTemplate(
        buffer,
        pagesize=A4,
        title=design["title"],
        author="BISP NSER",
        leftMargin=1.8 * cm,
        rightMargin=1.8 * cm,
        topMargin=1.6 * cm,
        bottomMargin=1.6 * cm,
    ).build(story)
    return buffer.getvalue()
