"""English and Urdu: every user-visible string of the translated parts has its Urdu text, placeholders
survive translation, the language is chosen as the issue says, and numbers are grouped as readers expect."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_file

from dashboard import i18n

ROOT = Path(__file__).resolve().parents[2]
KEYWORDS = {"_": None, "N_": None, "gettext": None, "translated": (1,)}
# the parts of the app translated so far (the issue stays open until this is every module that shows text)
TRANSLATED = [
    "layouts/shell.py",
    "layouts/components.py",
    "layouts/home.py",
    "dashboard/callbacks/home.py",
    "dashboard/place_names.py",
    "layouts/district.py",
    "dashboard/callbacks/district.py",
    "layouts/figures.py",
    "layouts/login.py",
    "layouts/account.py",
    "layouts/reports.py",
    "layouts/report.py",
    "dashboard/callbacks/reports.py",
    "dashboard/report_pdf.py",
    "layouts/data_request.py",
    "dashboard/callbacks/data_requests.py",
    "dashboard/answers.py",
    "layouts/integration_admin.py",
    "dashboard/callbacks/integration.py",
    "layouts/explore.py",
    "dashboard/callbacks/explore.py",
    "dashboard/explorer_state.py",
    "dashboard/pages.py",
    "layouts/records.py",
    "dashboard/callbacks/records.py",
    "layouts/admin.py",
    "dashboard/callbacks/admin.py",
    "layouts/report_admin.py",
    "layouts/request_admin.py",
    "dashboard/web.py",
]
DATA = ["cubes/*.yaml", "cubes/dimensions.yaml", "dashboard/requests.yaml", "dashboard/governance.yaml"]


def code_messages() -> list[tuple[str, int, str]]:
    out = []
    for path in TRANSLATED:
        for lineno, message, _comments, _context in extract_from_file(
            "python", str(ROOT / path), keywords=KEYWORDS
        ):
            if isinstance(message, str) and message.strip():
                out.append((path, lineno, message))
    return out


def test_every_string_of_the_translated_pages_has_urdu():
    urdu = i18n.catalog("ur")
    missing = [
        f"{path}:{line}: {message!r}" for path, line, message in code_messages() if message not in urdu
    ]
    assert not missing, "no Urdu translation for:\n" + "\n".join(missing)


@pytest.mark.parametrize("source", DATA)
def test_every_text_of_the_data_files_shown_on_pages_has_urdu(source):
    urdu = i18n.catalog("ur")
    missing = [t for t in i18n.data_messages()[source] if t not in urdu]
    assert not missing, f"{source}: no Urdu translation for:\n" + "\n".join(repr(t) for t in missing)


def test_translations_keep_their_placeholders_and_are_urdu():
    placeholder = re.compile(r"\{[a-z0-9_]*\}")
    for msgid, msgstr in i18n.catalog("ur").items():
        assert sorted(placeholder.findall(msgid)) == sorted(placeholder.findall(msgstr)), msgid
        assert re.search(r"[\u0600-\u06FF]", msgstr) or not re.search(r"[A-Za-z]{3}", msgid), (msgid, msgstr)


def test_lakh_crore_grouping_and_urdu_digits():
    assert i18n.group(123456789, grouping="international", digits="latin") == "123,456,789"
    assert i18n.group(123456789, grouping="south_asian", digits="latin") == "12,34,56,789"
    assert i18n.group(1234, grouping="south_asian", digits="latin") == "1,234"
    assert i18n.group(999, grouping="south_asian", digits="latin") == "999"
    assert i18n.group(-1234567.5, 1, grouping="south_asian", digits="latin") == "-12,34,567.5"
    assert i18n.group(1234567, grouping="south_asian", digits="urdu") == "۱۲٬۳۴٬۵۶۷"
    assert i18n.group(12.5, 1, grouping="international", digits="urdu") == "۱۲٫۵"


def test_every_message_the_server_raises_for_people_has_urdu():
    from dashboard.server_messages import templates

    urdu = i18n.catalog("ur")
    missing = [f"{where[0]}: {t!r}" for t, where in templates().items() if t not in urdu]
    assert not missing, "no Urdu for these server messages:\n" + "\n".join(missing)


def test_a_message_with_values_is_shown_in_urdu_with_the_same_values():
    import flask

    with flask.Flask("t").test_request_context("/?lang=ur"):
        shown = i18n.gettext("the measure beneficiaries is not available at your access level")
        assert "beneficiaries" in shown and re.search(r"[\u0600-\u06FF]", shown)
        assert (
            i18n.gettext("no such sentence exists in any catalog") == "no such sentence exists in any catalog"
        )
    with flask.Flask("t").test_request_context("/?lang=en"):
        assert i18n.gettext("the measure beneficiaries is not available at your access level").startswith(
            "the measure"
        )
