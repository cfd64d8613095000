"""The app factory: one app on the shared small warehouse, in demo mode, served in-process.

Journeys through pages live in tests/browser (a real Chromium against gunicorn); here: what the factory
wires up — pages, guard, demo users, local assets only.
"""

from __future__ import annotations

import re

import pytest


@pytest.fixture(scope="module")
def client(cubes_store):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("NSER_DATA_DIR", str(cubes_store.root))
        mp.setenv("NSER_DEMO", "1")
        mp.delenv("NSER_DATABASE_URL", raising=False)
        from app import create_app

        app = create_app()
        yield app.server.test_client()


def test_index_loads_only_local_scripts_styles_and_fonts(client):
    response = client.get("/")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    links = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert links, html[:500]
    assert all(link.startswith("/") and not link.startswith("//") for link in links), links
    assert "/assets/vendor/bootstrap/bootstrap.min.css" in html


def test_every_page_is_registered_with_a_tier(client):
    import dash

    tiers = {p.get("path_template") or p["path"]: p.get("tier") for p in dash.page_registry.values()}
    assert tiers == {
        "/": "public",
        "/login": "public",
        "/district/<district_code>": "public",
        "/explore": "business",
        "/admin": "mis",
        "/reports": "public",
        "/reports/<slug>": "public",
        "/admin/reports": "mis",
        "/records": "business",
        "/request": "public",
        "/admin/requests": "mis",
    }


def test_demo_mode_seeds_one_user_per_tier(client):
    from dashboard.accounts import Accounts
    from dashboard.demo import DEMO_PASSWORD

    tiers = {u.username: u.tier for u, _ in Accounts().users()}
    assert {
        "mis": "mis",
        "dg": "mis",
        "planner": "business",
        "researcher": "business",
    }.items() <= tiers.items()
    assert Accounts().authenticate("planner", DEMO_PASSWORD).tier == "business"


def test_the_admin_page_asks_anonymous_visitors_to_log_in(client):
    import json

    response = client.post(
        "/_dash-update-component",
        data=json.dumps(
            {
                "output": ".._pages_content.children..._pages_store.data..",
                "outputs": [
                    {"id": "_pages_content", "property": "children"},
                    {"id": "_pages_store", "property": "data"},
                ],
                "inputs": [
                    {"id": "_pages_location", "property": "pathname", "value": "/admin"},
                    {"id": "_pages_location", "property": "search", "value": ""},
                ],
                "changedPropIds": ["_pages_location.pathname"],
            }
        ),
        content_type="application/json",
    )
    assert response.status_code == 200
    content = response.get_json()["response"]["_pages_content"]["children"]["props"]["children"]
    assert content[0]["props"] == {"id": "guard-redirect", "href": "/login?next=/admin", "refresh": True}
    assert "admin-users" not in response.get_data(as_text=True)
