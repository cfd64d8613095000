"""A published report as one PDF, in the reader's language: its stamp (version, approval, registry date),
then each panel as a table of exactly the protected values shown on screen, with a bar chart where the
panel is a chart.

Drawn with fpdf2 and its HarfBuzz text shaping (uharfbuzz), so Urdu comes out joined in Nastaliq and laid
out right to left — the text flush right, a table's first column on the right, a chart's labels on the right
and its bars growing leftwards — while numbers keep their left-to-right digits as ``i18n.group`` writes them.
English and Urdu share this one layout; only the direction, the alignment and the fonts differ. The fonts
ship in ``dashboard/fonts`` (SIL OFL, see SOURCES.md there): Noto Sans for Latin text (and as the fallback
for Latin inside Urdu), Noto Nastaliq Urdu for Urdu, Noto Sans Math for ≤, ≥ and arrows. No browser or
image renderer runs on the server, and nothing is fetched at run time.
"""

from __future__ import annotations

from pathlib import Path

from fpdf import FPDF, FontFace
from fpdf.enums import TableBordersLayout, TableCellFillMode, XPos, YPos

from dashboard import i18n
from dashboard.answers import tabulate
from dashboard.i18n import N_, _, translated
from dashboard.publication import RenderedReport

FONTS = Path(__file__).with_name("fonts")
GREEN, GREY, HEAD_FILL, STRIPE = "#0b6e4f", "#555555", "#e9f2ee", "#f6f6f6"
MAX_BARS = 40
PT = 25.4 / 72  # mm per point
# the PDF drops "on screen" from the app's note (answers.SUPPRESSED_NOTE): a printed page shows x itself
SUPPRESSED_NOTE = N_("Empty cells are suppressed (shown as x) to protect households.")
PROTECTION_NOTE = N_("Figures are perturbed slightly and small counts suppressed to protect households.")
PUBLISHER = N_("Benazir Income Support Programme — National Socio-Economic Registry.")


class _Layout:
    """The document and what the reader's language decides: fonts, direction, alignment."""

    def __init__(self, title: str):
        self.rtl = i18n.direction() == "rtl"
        pdf = FPDF(orientation="portrait", unit="mm", format="A4")
        pdf.set_margins(18, 16, 18)
        pdf.set_auto_page_break(True, margin=16)
        pdf.add_font("NotoSans", "", FONTS / "NotoSans-Regular.ttf")
        pdf.add_font("NotoSans", "B", FONTS / "NotoSans-Bold.ttf")
        pdf.add_font("NotoSansMath", "", FONTS / "NotoSansMath-Regular.ttf")
        if self.rtl:
            pdf.add_font("NotoNastaliqUrdu", "", FONTS / "NotoNastaliqUrdu-Regular.ttf")
            pdf.add_font("NotoNastaliqUrdu", "B", FONTS / "NotoNastaliqUrdu-Bold.ttf")
        self.family = "NotoNastaliqUrdu" if self.rtl else "NotoSans"
        # Nastaliq climbs and descends far more than Latin: its lines need about twice the room
        self.leading = 2.1 if self.rtl else 1.35
        # a character the face lacks (Latin in Nastaliq, ≤ in Noto Sans) is drawn from the next face
        pdf.set_fallback_fonts(
            ["NotoSans", "NotoSansMath"] if self.rtl else ["NotoSansMath"], exact_match=False
        )
        # the paragraph direction; runs of Latin and digits inside Urdu stay left to right (bidi)
        pdf.set_text_shaping(True, direction=i18n.direction())
        pdf.set_lang(i18n.language())
        pdf.set_title(title)
        pdf.set_author("BISP NSER")
        pdf.set_creator("NSER Insight")
        pdf.add_page()
        self.pdf = pdf
        self.start = "R" if self.rtl else "L"  # where a line begins

    def font(self, size: float, bold: bool = False, color: str = "#000000") -> float:
        """Set the face and size; the line height that goes with them, in mm."""
        self.pdf.set_font(self.family, "B" if bold else "", size)
        self.pdf.set_text_color(color)
        return size * PT * self.leading

    def paragraph(self, text: str, size: float = 10, bold: bool = False, color: str = "#000000") -> None:
        height = self.font(size, bold, color)
        self.pdf.multi_cell(0, height, text, align=self.start, new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    def gap(self, mm: float) -> None:
        self.pdf.ln(mm)

    def fit(self, text: str, width: float) -> str:
        """The text, shortened with an ellipsis until it fits the width (at the current font)."""
        if self.pdf.get_string_width(text) <= width:
            return text
        while text and self.pdf.get_string_width(text + "…") > width:
            text = text[:-1]
        return text.rstrip() + "…"

    def width(self, text: str) -> float:
        """The room a text needs on one line at the current font. fpdf2 breaks lines by adding up the
        widths of the characters one by one, unjoined, and a Nastaliq letter alone is far wider than
        joined: a cell as wide as the shaped text would still wrap, so it is given the larger of both."""
        return max(self.pdf.get_string_width(text), sum(self.pdf.get_string_width(c) for c in text))

    def ltr(self, text: str) -> str:
        """Text that reads left to right whatever surrounds it (a date, a code) kept so inside Urdu: a
        left-to-right isolate (LRI … PDI), else the bidi algorithm would turn 2026-06-30 into 30-06-2026."""
        return f"\u2066{text}\u2069" if self.rtl else text

    def ordered(self, cells: list) -> list:
        """A row's cells from the page's left edge: reversed for right to left, the first column rightmost."""
        return cells[::-1] if self.rtl else cells


def _local(item: dict, field: str) -> str:
    """A design's text in the reader's language: its Urdu version (``title_ur``) on Urdu, where written."""
    return (i18n.language() == "ur" and item.get(f"{field}_ur")) or item[field]


def _date(when) -> str:
    return i18n.date_text(when, "%d %B %Y")


def _fmt(value) -> str:
    if value is None:
        return "x"
    if isinstance(value, float):
        return i18n.group(value, 1)
    return i18n.group(value)


def _stamp(doc: _Layout, report: RenderedReport) -> str:
    info = report.info
    as_of = next((r.as_of for _, r in report.panels if r.as_of), None)
    stamp = [translated("Version {n}", n=i18n.group(info.version))]
    if info.approved_by:
        stamp.append(
            translated(
                "approved by {approver} on {date}",
                approver=doc.ltr(info.approved_by),
                date=_date(info.approved_at),
            )
        )
    if as_of:
        stamp.append(translated("registry as of {date}", date=doc.ltr(as_of)))
    if report.parameters:
        stamp.append(doc.ltr(", ".join(f"{k}: {v}" for k, v in report.parameters.items())))
    return " · ".join(stamp)


def _chart(doc: _Layout, table) -> None:
    """Horizontal bars of the first value column by row label (areas or categories), when readable: the
    labels at the start of the line (left, or right in Urdu), the bars scaled to the largest value and
    growing away from them, each bar's value written at its end."""
    values = [i for i, k in enumerate(table.kinds) if k == "value"]
    labels = [i for i, k in enumerate(table.kinds) if k in ("name", "category")]
    if not values or not labels or not 1 < len(table.rows) <= MAX_BARS:
        return
    v = values[0]
    data = [r[v] if isinstance(r[v], (int, float)) else 0 for r in table.rows]
    pdf = doc.pdf
    row_height = doc.font(8) * (0.95 if doc.rtl else 1.1)
    label_width, value_width, gap = 48.0, 22.0, 2.0
    bar_room = pdf.epw - label_width - value_width - 2 * gap
    top = max(data) or 1
    axis = pdf.w - pdf.r_margin - label_width - gap if doc.rtl else pdf.l_margin + label_width + gap
    pdf.set_draw_color("#999999")
    pdf.set_line_width(0.2)
    if pdf.will_page_break(row_height * min(len(data), 8)):
        pdf.add_page()
    for row, value in zip(table.rows, data, strict=True):
        if pdf.will_page_break(row_height):
            pdf.add_page()
        y = pdf.get_y()
        length = max(bar_room * value / top, 0.3) if value > 0 else 0
        if doc.rtl:
            label_x, bar_x = pdf.w - pdf.r_margin - label_width, axis - length
            value_x = bar_x - gap - value_width
        else:
            label_x, bar_x = pdf.l_margin, axis
            value_x = bar_x + length + gap
        doc.font(8, color="#222222")
        pdf.set_xy(label_x, y)
        # the area and its category (Punjab · Urban) where the rows are both
        label = " · ".join(str(row[i]) for i in labels if row[i] is not None)
        pdf.cell(label_width, row_height, doc.fit(label, label_width), align=doc.start)
        pdf.set_fill_color(GREEN)
        if length:
            pdf.rect(bar_x, y + row_height * 0.2, length, row_height * 0.6, style="F")
        doc.font(7, color=GREY)
        pdf.set_xy(value_x, y)
        pdf.cell(value_width, row_height, doc.ltr(_fmt(row[v])), align=doc.start)
        # the value axis: a hairline where the bars start
        pdf.line(axis, y, axis, y + row_height)
        pdf.set_y(y + row_height)
    doc.gap(2)


def _table(doc: _Layout, table) -> None:
    """The table of the protected values (x where suppressed); its header row repeats on every page."""
    pdf = doc.pdf
    height = doc.font(7.5)
    rows = [
        [
            doc.ltr(_fmt(c)) if k == "value" else ("" if c is None else str(c))
            for c, k in zip(r, table.kinds, strict=True)
        ]
        for r in table.rows
    ]
    padding = 1.5
    # each column as wide as its widest cell (cells do not wrap) and, room allowing, its header (up to
    # 60 mm, then it wraps); when the page is too narrow, headers give way first, then cells alike
    natural, least = [], []
    for i, header in enumerate(table.headers):
        doc.font(7.5, bold=True)
        head = doc.width(str(header))
        word = max((doc.width(w) for w in str(header).split()), default=0)
        doc.font(7.5)
        cell = max((doc.width(r[i]) for r in rows), default=0)
        extra = 2 * padding + 1
        least.append(max(cell, word) + extra)
        natural.append(max(least[-1], min(head, 60.0) + extra))
    if sum(natural) <= pdf.epw:
        widths = natural
    elif sum(least) <= pdf.epw:
        slack = (pdf.epw - sum(least)) / (sum(natural) - sum(least))
        widths = [lo + (n - lo) * slack for lo, n in zip(least, natural, strict=True)]
    else:
        widths = [lo * pdf.epw / sum(least) for lo in least]
    total = min(sum(widths), pdf.epw)
    align = ["RIGHT" if k == "value" else ("RIGHT" if doc.rtl else "LEFT") for k in table.kinds]
    pdf.set_draw_color(GREEN)
    pdf.set_line_width(0.3)
    pdf.set_fill_color("#ffffff")
    with pdf.table(
        align=doc.start,
        width=total,
        col_widths=doc.ordered(widths),
        text_align=doc.ordered(align),
        borders_layout=TableBordersLayout.SINGLE_TOP_LINE,
        headings_style=FontFace(emphasis="BOLD", fill_color=HEAD_FILL),
        cell_fill_color=STRIPE,
        cell_fill_mode=TableCellFillMode.EVEN_ROWS,
        line_height=height,
        padding=(0.6, padding),
        v_align="MIDDLE",
        repeat_headings=1,
    ) as grid:
        for cells in [[str(h) for h in table.headers], *rows]:
            line = grid.row()
            for text in doc.ordered(cells):
                line.cell(text)
    doc.gap(2)


def report_pdf(report: RenderedReport) -> bytes:
    """The whole report as PDF bytes, in the language (and number style) of the current request."""
    design = report.info.design
    doc = _Layout(_local(design, "title"))
    doc.paragraph(_local(design, "title"), size=18, bold=True, color=GREEN)
    doc.gap(1)
    doc.paragraph(_local(design, "description"), size=10)
    doc.gap(1)
    doc.paragraph(_stamp(doc, report), size=8, color=GREY)
    doc.gap(4)
    for panel, result in report.panels:
        doc.paragraph(_local(panel, "title"), size=13, bold=True)
        doc.gap(1)
        if not result.ok:
            doc.paragraph(_(result.reason) if result.reason else _("not available"), size=10)
            doc.gap(3)
            continue
        table = tabulate(result)
        if panel["visual"] in ("bar", "stacked", "map"):
            _chart(doc, table)
        _table(doc, table)
        if panel.get("note"):
            doc.paragraph(_local(panel, "note"), size=8, color=GREY)
        if any(c is None for r in table.rows for c, k in zip(r, table.kinds, strict=True) if k == "value"):
            doc.paragraph(_(SUPPRESSED_NOTE), size=8, color=GREY)
        doc.gap(3)
    if design["audience"] == "public":
        doc.gap(2)
        doc.paragraph(f"{_(PROTECTION_NOTE)} {_(PUBLISHER)}", size=8, color=GREY)
    return bytes(doc.pdf.output())
