"""Every main page read in Urdu, in Chromium: no English word in what a reader sees or hears (text,
placeholders, labels, tooltips, the tab's title), except what is English on purpose — marked lang="en"
(an English fallback name, a feed's field codes), codes and identifiers (.ltr, <code>), the brand and
acronyms such as NSER, BISP, PMT and CNIC, and the data the page shows (user names, organisations)."""

from __future__ import annotations

import re

import pytest

from tests.browser.test_pages import login

pytestmark = pytest.mark.browser
# words that are English in every language: the product's name, acronyms said as letters, and units
ALWAYS = {"Insight", "OpenStreetMap", "ODbL", "Parquet", "Kafaalat", "Taleemi", "Wazaif", "YYYY", "MM", "DD"}
# what the demo data itself holds (user and organisation names, codes): data, not the page's words
DEMO_DATA = {"planner", "researcher", "mis", "dg", "demo"}
COLLECT = """() => {
  const skip = (el) => el.closest('[lang="en"], .ltr, code, pre, .name-en-fallback, script, style, '
    + '.js-plotly-plot .modebar, [aria-hidden="true"], .user-data');
  const seen = [];
  const visible = (el) => !!(el.offsetWidth || el.offsetHeight || el.getClientRects().length);
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    const el = n.parentElement;
    if (!el || skip(el) || !visible(el)) continue;
    const text = n.textContent.trim();
    if (text) seen.push(text);
  }
  for (const el of document.querySelectorAll('[placeholder], [aria-label], [title], img[alt]')) {
    if (skip(el) || !visible(el)) continue;
    for (const a of ['placeholder', 'aria-label', 'title', 'alt']) {
      const v = el.getAttribute(a);
      if (v) seen.push(v);
    }
  }
  seen.push(document.title);
  return seen;
}"""
PAGES = {
    # page: (user or None, path, a selector that shows the page has drawn its data)
    "home": (None, "/", ".headline-value"),
    "district": (None, "/district/PK601", ".headline-value"),
    "reports": (None, "/reports", "#rp-list"),
    "request": (None, "/request", "#rq-submit"),
    "login": (None, "/login", "#login-username"),
    "explore": ("planner", "/explore", "#ex-table .ag-row"),
    "records": ("researcher", "/records", "#rc-cnic"),
    "admin": ("mis", "/admin", "#admin-users .ag-row"),
    "designer": ("mis", "/admin/reports", "#ra-preview"),
    "requests": ("mis", "/admin/requests", "#rqa-queue"),
    "integration": ("mis", "/admin/integration", "#in-summary .badge"),
}


def english_words(texts: list[str], allowed: set[str]) -> list[str]:
    """The English words among texts: three or more Latin letters in a row that are not an acronym
    (all capitals), not allowed, and not part of a code such as PK601, a link or an e-mail address."""
    out = []
    for text in texts:
        for token in text.split():
            if re.search(r"\d|@|\.\w|[/=?_]", token):
                continue  # codes, numbers, addresses, links, file names
            for word in re.findall(r"[A-Za-z]{3,}", token):
                if word.isupper() or word in allowed or word.lower() in allowed:
                    continue
                out.append(f"{word!r} in {text[:80]!r}")
    return sorted(set(out))


@pytest.mark.parametrize("name", list(PAGES))
def test_an_urdu_page_shows_no_english_word(app_server, page, name, screenshot):
    user, path, ready = PAGES[name]
    if user:
        login(page, app_server, user, then=f"{path}?lang=ur")
    else:
        page.goto(f"{app_server}{path}?lang=ur")
    page.wait_for_selector(ready)
    page.wait_for_timeout(800)  # the last callbacks settle
    assert page.get_attribute("html", "dir") == "rtl"
    found = english_words(page.evaluate(COLLECT), ALWAYS | DEMO_DATA)
    screenshot(page, f"urdu-{name}")
    if page.locator(".ag-header-cell-text").count():  # AG Grid's own face lacks ہ and ے: they showed as boxes
        face = page.evaluate("getComputedStyle(document.querySelector('.ag-header-cell-text')).fontFamily")
        assert "Nastaliq" in face, face
    assert not found, f"{name}: English on the Urdu page:\n" + "\n".join(found)
