"""Languages: English and Urdu, right-to-left for Urdu, numbers the way a reader expects.

The language of a request is, in order: ``?lang=ur`` or ``?lang=en`` on the URL (remembered in a cookie),
the cookie, the browser's Accept-Language, English. Everything a page says goes through ``_()`` (marked
for extraction with ``N_()`` where it is defined before a request exists), and the Urdu text comes from
the gettext catalogs in ``dashboard/translations/ur/LC_MESSAGES/*.po`` (Babel reads them; several files,
one per part of the app, are merged). A string without a translation is shown in English — a test fails
while any exists.

Numbers: international grouping (1,234,567) or South Asian lakh/crore grouping (12,34,567), and Latin or
Urdu digits (۱۲۳); both are a reader's choice kept in cookies, with lakh/crore the default in Urdu.
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import re
from pathlib import Path

LANGUAGES = {"en": "English", "ur": "اردو"}
RTL = {"ur"}
DEFAULT = "en"
LANG_COOKIE, GROUPING_COOKIE, DIGITS_COOKIE = "nser_lang", "nser_numbers", "nser_digits"
GROUPINGS = ("international", "south_asian")
DIGITS = ("latin", "urdu")
CATALOGS = Path(__file__).with_name("translations")
URDU_DIGITS = str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")
COOKIE_AGE = 365 * 24 * 3600


def N_(message: str) -> str:  # noqa: N802 (gettext's name)
    """Mark a string for translation where it is defined; translate it with ``_()`` when shown."""
    return message


@functools.cache
def catalog(language: str) -> dict[str, str]:
    """msgid → msgstr of every .po file of a language (empty translations left out)."""
    from babel.messages.pofile import read_po

    messages: dict[str, str] = {}
    folder = CATALOGS / language / "LC_MESSAGES"
    for path in sorted(folder.glob("*.po")):
        with path.open("rb") as fh:
            for message in read_po(fh, locale=language):
                if message.id and message.string and not message.fuzzy:
                    messages[str(message.id)] = str(message.string)
    return messages


_SPOKEN: contextvars.ContextVar[str | None] = contextvars.ContextVar("nser_spoken", default=None)


@contextlib.contextmanager
def speaking(lang: str | None):
    """Speak another language than the request's for a while: a mail to a requester is written in the
    language of their request, whatever the page of the forum member who decides it."""
    token = _SPOKEN.set(lang if lang in LANGUAGES else DEFAULT)
    try:
        yield
    finally:
        _SPOKEN.reset(token)


def language() -> str:
    """The language being spoken: ``speaking()``'s, else this request's (English outside a request)."""
    import flask

    spoken = _SPOKEN.get()
    if spoken:
        return spoken
    if not flask.has_request_context():
        return DEFAULT
    cached = flask.g.get("nser_lang")
    if cached:
        return cached
    chosen = flask.request.args.get("lang")
    if chosen not in LANGUAGES:
        chosen = flask.request.cookies.get(LANG_COOKIE)
    if chosen not in LANGUAGES:
        chosen = flask.request.accept_languages.best_match(list(LANGUAGES), default=DEFAULT)
    flask.g.nser_lang = chosen
    return chosen


def direction() -> str:
    return "rtl" if language() in RTL else "ltr"


def gettext(message: str) -> str:
    """The message in this request's language (English when it has no translation yet).

    A message the server composed with values in it — a refusal such as "the measure x is not available
    at your access level" — is found through its template in the catalog ("the measure {measure} is not
    available at your access level") and its Urdu filled with the same values."""
    lang = language()
    if lang == DEFAULT or not message or not isinstance(message, str):
        return message
    found = catalog(lang).get(message)
    if found is not None:
        return found
    for pattern, names, urdu in _templates(lang):
        hit = pattern.match(message)
        if hit:
            # a value that is itself a sentence (a reason inside a reason) is translated too; codes stay
            values = {n: gettext(v) if " " in (v := hit.group(n)) else v for n in names}
            return urdu.format(**values)
    return message


@functools.cache
def _templates(language: str) -> list[tuple[re.Pattern, tuple[str, ...], str]]:
    """The catalog's messages with {placeholders}, as patterns that match a filled-in English message,
    most specific first (the most fixed text), so "no organisation named {x}; add it first …" is tried
    before "no organisation named {x}"."""
    out = []
    for msgid, msgstr in catalog(language).items():
        names = re.findall(r"\{([a-z0-9_]+)\}", msgid)
        if not names:
            continue
        parts = re.split(r"\{[a-z0-9_]+\}", msgid)
        regex, seen = "", set()
        for i, part in enumerate(parts):
            regex += re.escape(part)
            if i < len(names):
                name = names[i]
                regex += f"(?P={name})" if name in seen else f"(?P<{name}>.+?)"  # a repeat is the same value
                seen.add(name)
        fixed = sum(len(p) for p in parts)
        out.append((fixed, re.compile(f"^{regex}$", re.DOTALL), tuple(dict.fromkeys(names)), msgstr))
    out.sort(key=lambda t: -t[0])
    return [(pattern, names, urdu) for _fixed, pattern, names, urdu in out]


_ = gettext


def page_title(message: str):
    """A page's browser-tab title for dash.register_page, said in the reader's language: Dash calls it
    (with the path's variables) for every page it serves, inside that request."""

    def title(**_path_variables) -> str:
        return gettext(message)

    return title


def translated(message: str, **values) -> str:
    """A translated template filled in: ``translated("{n} households", n=fmt(42))``."""
    return gettext(message).format(**values)


# strftime formats of the English pages, and the same dates in Babel's patterns for other languages
DATE_PATTERNS = {
    "%A %d %B %Y": "EEEE d MMMM y",
    "%d %B %Y": "d MMMM y",
    "%d %b %Y": "d MMM y",
    "%d %b %H:%M": "d MMM HH:mm",
    "%d %b %Y %H:%M": "d MMM y HH:mm",
}


def date_text(value, fmt: str = "%d %B %Y") -> str:
    """A date or time as the language being spoken writes it: strftime in English, Babel's month and day
    names otherwise (with Urdu digits when the reader chose them). ``fmt`` is one of DATE_PATTERNS."""
    lang = language()
    if lang == DEFAULT:
        return f"{value:{fmt}}"
    from babel.dates import format_date, format_datetime

    pattern = DATE_PATTERNS[fmt]
    text = (
        format_datetime(value, pattern, locale=lang)
        if "H" in pattern
        else format_date(value, pattern, locale=lang)
    )
    return text.translate(URDU_DIGITS) if number_style()[1] == "urdu" else text


def long_date(day) -> str:
    """A date written out in the language being spoken: "Monday 07 December 2026", "پیر 7 دسمبر 2026"."""
    return date_text(day, "%A %d %B %Y")


def number_style() -> tuple[str, str]:
    """(grouping, digits) this reader chose, or the language's default."""
    import flask

    grouping = digits = None
    if flask.has_request_context():
        grouping = flask.request.args.get("numbers") or flask.request.cookies.get(GROUPING_COOKIE)
        digits = flask.request.args.get("digits") or flask.request.cookies.get(DIGITS_COOKIE)
    if grouping not in GROUPINGS:
        grouping = "south_asian" if language() == "ur" else "international"
    if digits not in DIGITS:
        digits = "latin"
    return grouping, digits


def group(
    value: float | int, decimals: int = 0, grouping: str | None = None, digits: str | None = None
) -> str:
    """A number with thousands grouped the reader's way: 1,234,567 or 12,34,567; Urdu digits on request."""
    style = number_style()
    grouping, digits = grouping or style[0], digits or style[1]
    negative = value < 0
    text = f"{abs(value):.{decimals}f}"
    whole, _, fraction = text.partition(".")
    if grouping == "south_asian" and len(whole) > 3:
        head, tail = whole[:-3], whole[-3:]
        pairs = []
        while len(head) > 2:
            pairs.insert(0, head[-2:])
            head = head[:-2]
        whole = ",".join([head, *pairs, tail]) if head else ",".join([*pairs, tail])
    else:
        whole = f"{int(whole):,}"
    out = ("-" if negative else "") + whole + (f".{fraction}" if fraction else "")
    if digits == "urdu":
        out = out.translate(URDU_DIGITS).replace(",", "٬").replace(".", "٫")
    return out


def remember(response):
    """after_request: keep a language or number style chosen on the URL for the next requests."""
    import flask

    for arg, cookie, allowed in (
        ("lang", LANG_COOKIE, LANGUAGES),
        ("numbers", GROUPING_COOKIE, GROUPINGS),
        ("digits", DIGITS_COOKIE, DIGITS),
    ):
        value = flask.request.args.get(arg)
        if value in allowed and flask.request.cookies.get(cookie) != value:
            response.set_cookie(
                cookie,
                value,
                max_age=COOKIE_AGE,
                samesite="Lax",
                httponly=True,
                secure=flask.request.is_secure,
            )
    if response.mimetype == "text/html" or flask.request.path.startswith("/_dash-update-component"):
        response.vary.add("Cookie")
        response.vary.add("Accept-Language")
    return response


def data_messages() -> dict[str, list[str]]:
    """Every user-visible text that lives in data files, by file: cube titles, descriptions and measures;
    dimension descriptions and members' labels; the request form's forums, data types, channels, services
    and questions; organisation types and metering services. All go through ``_()`` where shown, and the
    catalogs must have them all (tests/dashboard/test_i18n.py)."""
    from cubes.model import load_model
    from dashboard import governance
    from dashboard.data_requests import load_rules

    model = load_model()
    cubes = []
    for cube in model.cubes.values():
        cubes += [cube.title, cube.description]
        cubes += [m.description for m in cube.measures.values()]
        cubes += [m.unit for m in cube.measures.values()]
    dims = []
    for dim in model.dimensions.values():
        dims.append(dim.description)
        for m in dim.members or ():
            dims += [m.label, m.description]
    rules = load_rules()
    requests = [*rules["forums"].values(), *rules["data_types"].values(), *rules["channels"].values()]
    requests += [s["label"] for s in rules["services"].values()]
    for item in rules.get("faq") or []:
        requests += [item["q"], item["a"]]
    gov = governance.load()
    governance_texts = [t["label"] for t in gov["organisation_types"].values()]
    governance_texts += [s["label"] for s in gov["services"].values()]
    return {
        "cubes/*.yaml": [t for t in cubes if t],
        "cubes/dimensions.yaml": [t for t in dims if t],
        "dashboard/requests.yaml": [t for t in requests if t],
        "dashboard/governance.yaml": [t for t in governance_texts if t],
    }
