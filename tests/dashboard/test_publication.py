"""Published reports: computed through the gateway as the audience, cached, and only when published."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cubes.events import MemorySink
from cubes.gateway import Gateway
from dashboard import oversight, publication
from dashboard.accounts import Accounts
from dashboard.reports import ReportNotFound, Reports
from tests.conftest import make_actor

PASSWORD = "correct horse battery"
DESIGNS = Path(__file__).resolve().parents[2] / "dashboard" / "report_designs"


def pdf_text(pdf: bytes) -> str:
    """The text of every page of a PDF as a reader would copy it (pypdf, through the fonts' ToUnicode),
    with line breaks and runs of spaces as one space (a sentence may wrap)."""
    import io
    import re

    from pypdf import PdfReader

    return re.sub(r"\s+", " ", " ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages))


def pdf_fonts(pdf: bytes) -> dict[str, dict[bytes, str]]:
    """Each font the pages use, by base name (subset prefix dropped), with its ToUnicode map: glyph code
    (two bytes) → the text that glyph stands for."""
    import io
    import re

    from pypdf import PdfReader

    fonts: dict[str, dict[bytes, str]] = {}
    for page in PdfReader(io.BytesIO(pdf)).pages:
        for font in (page["/Resources"].get("/Font") or {}).values():
            font = font.get_object()
            cmap = (
                font["/ToUnicode"].get_object().get_data().decode("latin-1") if "/ToUnicode" in font else ""
            )
            pairs = re.findall(r"<([0-9A-F]{4})> <([0-9A-F]+)>", cmap.partition("beginbfchar")[2])
            fonts.setdefault(str(font["/BaseFont"]).lstrip("/").split("+")[-1], {}).update(
                {bytes.fromhex(c): bytes.fromhex(u).decode("utf-16-be") for c, u in pairs}
            )
    return fonts


def drawn_text(pdf: bytes) -> list[str]:
    """What each text object (BT … ET: a line, a table cell) draws, glyph by glyph in the order drawn
    (left to right on the page), each glyph read through its font's ToUnicode map; glyphs that map to
    nothing (the dots Nastaliq draws apart from their letter) are left out. pypdf's own extraction
    reorders shaped Nastaliq by glyph position, so Urdu words come out scrambled; read right to left
    (reversed glyph by glyph), a line of Urdu drawn here gives back its words in their logical order."""
    import io

    from pypdf import PdfReader
    from pypdf.generic import ContentStream

    reader = PdfReader(io.BytesIO(pdf))
    maps, lines = pdf_fonts(pdf), []
    for page in reader.pages:
        names = {
            name: str(ref.get_object()["/BaseFont"]).lstrip("/").split("+")[-1]
            for name, ref in page["/Resources"]["/Font"].items()
        }
        font, glyphs = {}, []
        for operands, op in ContentStream(page.get_contents(), reader).operations:
            if op == b"Tf":
                font = maps[names[operands[0]]]
            elif op in (b"Tj", b"TJ"):
                for s in operands[0] if op == b"TJ" else operands:
                    if isinstance(s, str | bytes):
                        data = s.original_bytes
                        glyphs += [font.get(data[i : i + 2], "") for i in range(0, len(data), 2)]
            elif op == b"ET":
                lines.append("".join(glyphs))
                glyphs = []
    return lines


def save_artifact(name: str, pdf: bytes) -> Path:
    """Keep a PDF under test-artifacts/ (git-ignored) with a PNG of its first page where poppler is
    installed, to look at."""
    import shutil
    import subprocess

    folder = Path(__file__).resolve().parents[2] / "test-artifacts"
    folder.mkdir(exist_ok=True)
    path = folder / f"{name}.pdf"
    path.write_bytes(pdf)
    if shutil.which("pdftoppm"):
        subprocess.run(
            ["pdftoppm", "-png", "-r", "110", "-f", "1", "-l", "1", "-singlefile", path, folder / name],
            check=True,
            timeout=60,
        )
    return path


@pytest.fixture()
def published(cubes_store, tmp_path, monkeypatch):
    """The small warehouse, a fresh store, and a way to publish a starter design (mis designs, dg approves)."""
    monkeypatch.setenv("NSER_DATA_DIR", str(cubes_store.root))
    monkeypatch.setenv("NSER_DATABASE_URL", f"sqlite:///{tmp_path / 'nser.sqlite'}")
    monkeypatch.setenv("NSER_AUDIT_KEY", "b" * 64)
    monkeypatch.setattr(oversight, "_GATEWAY", None)
    acc = Accounts()
    acc.add_organisation("BISP NSER MIS Wing", "bisp")
    acc.add_user("sana", "Sana Mirza", "BISP NSER MIS Wing", PASSWORD, tier="mis")
    acc.add_user("dg", "Director General", "BISP NSER MIS Wing", PASSWORD, tier="mis", duties=["dg_nser"])
    reports = Reports()

    def publish(slug: str) -> Reports:
        reports.save_draft(acc.get("sana"), json.loads((DESIGNS / f"{slug}.json").read_text()))
        reports.submit(acc.get("sana"), slug)
        reports.approve(acc.get("dg"), slug, 1)
        return reports

    publish.accounts = acc
    return publish


def test_published_values_equal_the_gateways_public_values_and_come_from_the_cache(published, cubes_store):
    reports = published("widows-by-tehsil")
    first = publication.render("widows-by-tehsil", {"district": "PK602"}, reports)
    assert not first.from_cache and first.parameters == {"district": "PK602"}
    ((panel, result),) = first.panels
    assert result.ok, result.reason
    direct = Gateway(cubes_store, events=MemorySink()).run_query(
        make_actor("public"),
        {"cube": "persons", "measures": ["widows"], "geography": {"level": "tehsil", "within": "PK602"}},
    )
    assert result.rows == direct.rows and len(result.rows) > 1
    again = publication.render("widows-by-tehsil", {"district": "PK602"}, reports)
    assert again.from_cache and again.panels[0][1].rows == result.rows


def test_an_approved_report_reaches_union_councils_where_the_public_cannot(published, cubes_store):
    reports = published("disability-by-union-council")
    query = {
        "cube": "disability",
        "measures": ["persons_with_disability"],
        "geography": {"level": "union_council", "within": "PK601T01"},
    }
    plain = Gateway(cubes_store, events=MemorySink()).run_query(make_actor("public"), query)
    assert not plain.ok and "too detailed" in plain.reason
    shown = publication.render("disability-by-union-council", None, reports).panels[0][1]
    assert shown.ok, shown.reason
    assert {r["uc_code"][:8] for r in shown.rows} == {"PK601T01"}
    # the small warehouse's union councils are all below the household floor: every one is hidden
    assert all(r["persons_with_disability"] is None for r in shown.rows)


def test_only_the_published_version_is_rendered_and_bad_parameters_are_named(published):
    reports = published("widows-by-tehsil")
    with pytest.raises(ValueError, match="District: 'PK999' is not one of the areas"):
        publication.render("widows-by-tehsil", {"district": "PK999"}, reports)
    reports.retire(published.accounts.get("sana"), "widows-by-tehsil")
    with pytest.raises(ReportNotFound):
        publication.render("widows-by-tehsil", None, reports)
    with pytest.raises(ReportNotFound):
        publication.render("no-such-report", None, reports)


def test_precompute_covers_every_parameter_value(published):
    reports = published("cct-enrolment-by-district")
    assert publication.precompute("cct-enrolment-by-district", reports) == 7  # one per province
    assert publication.render("cct-enrolment-by-district", {"province": "PK2"}, reports).from_cache


def test_the_whole_report_as_pdf_holds_the_stamp_and_the_published_values(published):
    from dashboard.report_pdf import report_pdf

    reports = published("beneficiary-households-by-province")
    rendered = publication.render("beneficiary-households-by-province", None, reports)
    pdf = report_pdf(rendered)
    save_artifact("report-en", pdf)
    assert pdf.startswith(b"%PDF-")
    text = pdf_text(pdf)
    assert "Beneficiary households by province" in text
    assert "Version 1" in text and "approved by dg" in text and "registry as of" in text
    punjab = next(r for r in rendered.panels[1][1].rows if r["province_code"] == "PK6")
    assert f"{punjab['households']:,}" in text  # the table carries the protected value shown
    assert "Benazir Income Support Programme — National Socio-Economic Registry." in text
    fonts = pdf_fonts(pdf)
    assert "NotoSans" in fonts and not any("Nastaliq" in f for f in fonts), fonts.keys()


def test_the_report_as_pdf_under_an_urdu_request_is_urdu_in_nastaliq_right_to_left(published):
    import flask

    from dashboard import i18n
    from dashboard.report_pdf import report_pdf

    reports = published("beneficiary-households-by-province")
    with flask.Flask("t").test_request_context("/?lang=ur"):
        rendered = publication.render("beneficiary-households-by-province", None, reports)
        pdf = report_pdf(rendered)
        punjab = next(r for r in rendered.panels[1][1].rows if r["province_code"] == "PK6")
        households = i18n.group(punjab["households"])  # lakh/crore, the Urdu default
    save_artifact("report-ur", pdf)
    assert pdf.startswith(b"%PDF-")
    fonts = pdf_fonts(pdf)
    assert "NotoNastaliqUrdu" in fonts and "NotoNastaliqUrduBold" in fonts, fonts.keys()  # embedded
    # shaped: a letter is drawn in several glyphs (its joined forms), not one isolated form per letter
    forms = [text for text in fonts["NotoNastaliqUrdu"].values() if text == "\u0628"]  # ب
    assert len(forms) > 1, forms
    # right to left: each line drawn, read from its right end, is the Urdu in its logical order
    lines = [line.replace("\u2066", "").replace("\u2069", "") for line in drawn_text(pdf)]
    urdu = "\n".join(line[::-1] for line in lines)
    stamp = next(line for line in urdu.splitlines() if "ورژن" in line)
    assert "کو منظور کی" in stamp and "رجسٹری بمطابق" in stamp  # approved on, registry as of
    assert "صوبہ وار مستحق گھرانے" in urdu  # the design's Urdu title
    assert "پنجاب" in urdu and "صوبہ" in urdu  # a province's Urdu name and the translated header
    assert "Version" not in "".join(lines) and "approved by" not in "".join(lines)
    # numbers keep their digits left to right, grouped the Urdu reader's way (lakh/crore by default)
    assert households in lines
    # a table's first column (the province code) is its rightmost: drawn after the name, left to right
    code = lines.index("PK6")
    assert lines[code - 1][::-1] == "پنجاب", lines[code - 3 : code + 1]


def test_reports_from_the_command_line(published, tmp_path):
    from click.testing import CliRunner

    from dashboard.cli import main

    design = json.loads((DESIGNS / "survey-progress.json").read_text())
    good, bad = tmp_path / "good.json", tmp_path / "bad.json"
    good.write_text(json.dumps(design))
    bad.write_text(json.dumps({**design, "slug": "another", "audience": "everyone"}))
    runner = CliRunner()
    refused = runner.invoke(main, ["reports", "import", str(good), str(bad), "--as", "sana"])
    assert refused.exit_code != 0 and "bad.json: report audience" in refused.output
    assert (
        "survey-progress" not in runner.invoke(main, ["reports", "list", "--as", "sana"]).output
    )  # all or nothing
    assert runner.invoke(main, ["reports", "import", str(good), "--as", "sana"]).exit_code == 0
    assert runner.invoke(main, ["reports", "submit", "survey-progress", "--as", "sana"]).exit_code == 0
    own = runner.invoke(main, ["reports", "approve", "survey-progress", "--version", "1", "--as", "sana"])
    assert own.exit_code != 0 and "Director General" in own.output
    ok = runner.invoke(main, ["reports", "approve", "survey-progress", "--version", "1", "--as", "dg"])
    assert ok.exit_code == 0, ok.output
    assert "published" in ok.output and "precomputed 1 page(s)" in ok.output
    exported = runner.invoke(main, ["reports", "export", "survey-progress", "--as", "sana"])
    assert json.loads(exported.output) == design
    history = runner.invoke(main, ["reports", "history", "survey-progress", "--as", "sana"]).output
    assert "approve" in history and "dg" in history
    refreshed = runner.invoke(main, ["reports", "refresh"])
    assert refreshed.exit_code == 0 and "survey-progress: 1 page(s)" in refreshed.output


def test_a_new_snapshot_refreshes_the_published_answers(data_dir, tmp_path, monkeypatch):
    from click.testing import CliRunner

    from dashboard.cli import main

    monkeypatch.setenv("NSER_DATABASE_URL", f"sqlite:///{tmp_path / 'nser.sqlite'}")
    monkeypatch.setenv("NSER_AUDIT_KEY", "c" * 64)
    monkeypatch.setattr(oversight, "_GATEWAY", None)
    runner = CliRunner()

    def new_snapshot(seed: int) -> None:
        for args in (
            ["warehouse", "build", "--households", "3000", "--seed", str(seed), "--quiet"],
            ["cubes", "build"],
        ):
            done = runner.invoke(main, args)
            assert done.exit_code == 0, done.output

    new_snapshot(1)
    acc = Accounts()
    acc.add_organisation("BISP NSER MIS Wing", "bisp")
    acc.add_user("sana", "Sana Mirza", "BISP NSER MIS Wing", PASSWORD, tier="mis")
    acc.add_user("dg", "Director General", "BISP NSER MIS Wing", PASSWORD, tier="mis", duties=["dg_nser"])
    reports = Reports()
    reports.save_draft(acc.get("sana"), json.loads((DESIGNS / "survey-progress.json").read_text()))
    reports.submit(acc.get("sana"), "survey-progress")
    reports.approve(acc.get("dg"), "survey-progress", 1)
    before = publication.render("survey-progress", None, reports)
    assert publication.render("survey-progress", None, reports).from_cache
    new_snapshot(2)  # `nser cubes build` precomputes the published reports for the new snapshot
    after = publication.render("survey-progress", None, reports)
    assert after.from_cache
    assert after.panels[0][1].snapshot_id != before.panels[0][1].snapshot_id
    # another registry (same size, other households): other counts in the breakdowns
    assert [r.rows for _, r in after.panels] != [r.rows for _, r in before.panels]
