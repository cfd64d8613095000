"""axe-core inside Chromium on the main pages, in English and in Urdu: no serious or critical violation.
Charts carry a text alternative; the explorer works from the keyboard."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.browser.conftest import CHROMIUM_ARGS  # noqa: F401 (same browser as every browser test)
from tests.browser.test_pages import login

pytestmark = pytest.mark.browser
AXE = (Path(__file__).with_name("vendor") / "axe-core" / "axe.min.js").read_text(encoding="utf-8")
PUBLIC = {
    "home": ("/", ".headline-value"),
    "district": ("/district/PK601", ".headline-value"),
    "reports": ("/reports", "#rp-list"),
    "request": ("/request", "#rq-submit"),
    "login": ("/login", "#login-username"),
}


def violations(page) -> list[dict]:
    """Serious and critical axe-core violations of the page as it is now."""
    page.evaluate(AXE)
    found = page.evaluate(
        "async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
        ".filter(v => ['serious', 'critical'].includes(v.impact))"
        ".map(v => ({id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 3).map(n => n.target.join(' '))}))"
    )
    return found


@pytest.fixture()
def axe_page(browser):
    # the app's CSP forbids scripts it did not send; axe is the test's own, so this context lets it in
    context = browser.new_context(viewport={"width": 1280, "height": 900}, bypass_csp=True)
    context.route(
        "**/*",
        lambda route: (
            route.abort() if not route.request.url.startswith("http://127.0.0.1") else route.continue_()
        ),
    )
    page = context.new_page()
    page.set_default_timeout(30_000)
    yield page
    context.close()


@pytest.mark.parametrize("lang", ["en", "ur"])
@pytest.mark.parametrize("name", list(PUBLIC))
def test_public_pages_have_no_serious_accessibility_violation(app_server, axe_page, name, lang, screenshot):
    path, ready = PUBLIC[name]
    axe_page.goto(f"{app_server}{path}?lang={lang}")
    axe_page.wait_for_selector(ready)
    axe_page.wait_for_timeout(500)  # the last callbacks settle
    found = violations(axe_page)
    assert not found, json.dumps(found, indent=1, ensure_ascii=False)
    if lang == "ur" and name == "district":
        screenshot(axe_page, "district-urdu")


@pytest.mark.parametrize("lang", ["en", "ur"])
def test_the_explorer_has_no_serious_violation_and_works_from_the_keyboard(app_server, axe_page, lang):
    login(axe_page, app_server, "planner", then=f"/explore?lang={lang}")
    axe_page.wait_for_selector("#ex-table .ag-row")
    found = violations(axe_page)
    assert not found, json.dumps(found, indent=1, ensure_ascii=False)
    # keyboard only: tab to the first quick start and press Enter
    axe_page.focus("body")
    for _step in range(40):
        axe_page.keyboard.press("Tab")
        if axe_page.evaluate(
            "document.activeElement && document.activeElement.id && document.activeElement.id.includes('ex-quick')"
        ):
            break
    assert axe_page.evaluate("document.activeElement.id.includes('ex-quick')"), (
        "no quick start reachable by Tab"
    )
    axe_page.keyboard.press("Enter")
    axe_page.wait_for_url("**cube=beneficiaries**")


def test_charts_have_a_text_alternative(app_server, axe_page):
    axe_page.goto(f"{app_server}/district/PK601")
    axe_page.wait_for_selector(".js-plotly-plot")
    graphs = axe_page.locator("[role=img][aria-label]")
    assert graphs.count() >= 6
    assert all(len(graphs.nth(i).get_attribute("aria-label")) > 10 for i in range(graphs.count()))
