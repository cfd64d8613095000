"""Every Dash callback is a public POST endpoint: post each one, as each kind of visitor, with hostile inputs.

The callbacks are read from the running app's own ``/_dash-dependencies``, so a new callback fails this
test until it has an entry in ATTACKS (someone has to think about who may call it). Each entry names a
marker that only an MIS session may get back. The same POST is made as MIS too, to prove the marker is
real (a test that could never see it would prove nothing).
"""

from __future__ import annotations

import json
import time

import pytest

from tests.browser.test_pages import PASSWORD

pytestmark = pytest.mark.browser

HOSTILE_SEARCH = "?cube=persons&m=persons&d=gender&level=union_council&area=PK601T01"
MONTH = time.strftime("%Y-%m")
SOME_CNIC = [""]  # a CNIC from the test warehouse, read by the test below
INTRUDER_DESIGN = json.dumps(
    {
        "slug": "intruder-{who}",
        "title": "Intruder",
        "description": "A design posted straight to the callback.",
        "topic": "Test",
        "audience": "public",
        "panels": [
            {
                "title": "Households",
                "visual": "table",
                "query": {
                    "cube": "households",
                    "measures": ["households"],
                    "geography": {"level": "province"},
                },
            }
        ],
    }
)

# For each callback (keyed by the id of its first output): values for its inputs and state by "id.property",
# values for pattern-matching inputs, and what only MIS may see in the answer.
ATTACKS: dict[str, dict] = {
    "admin-users": {"values": {}, "mis_only": "planner_punjab"},
    "admin-new-user-out": {
        "values": {
            "admin-new-user.n_clicks": 1,
            "ad-username.value": "intruder-{who}",
            "ad-fullname.value": "Intruder",
            "ad-org.value": "BISP NSER MIS Wing",
            "ad-tier.value": "mis",
            "ad-role.value": "power",
            "ad-password.value": "Intruder-password-2026!",
        },
        "mis_only": "User intruder-mis added",
    },
    "admin-audit": {"values": {"admin-verify.n_clicks": 1}, "mis_only": '"outcome"'},
    "admin-statement": {
        "values": {
            "admin-statement-org.value": "Planning & Development Board Punjab",
            "admin-statement-month.value": MONTH,
        },
        "mis_only": "PKR",
    },
    "rp-list": {"values": {"rp-search.value": "province"}, "mis_only": None},
    "rp-header": {"values": {"rp-slug.data": {"slug": "survey-progress", "params": {}}}, "mis_only": None},
    "rp-download": {
        "values": {"rp-pdf.n_clicks": 1, "rp-slug.data": {"slug": "survey-progress", "params": {}}},
        "pattern": {"report-csv": [], "report-xlsx": []},
        "mis_only": None,  # a published public report is everyone's
    },
    "ra-message": {
        "values": {"ra-save.n_clicks": 1, "ra-design.value": INTRUDER_DESIGN},
        "pattern": {"ra-retire": []},
        "mis_only": "Saved intruder-mis",
    },
    "rc-tehsil": {"values": {"rc-district.value": "PK601"}, "mis_only": None},
    "rc-search": {"values": {"rc-go-cnic.n_clicks": 1, "rc-cnic.value": "{cnic}"}, "mis_only": "head_cnic"},
    "rc-detail": {
        # renders only what the request itself carries (the answer already on the page): nothing to leak
        "values": {
            "rc-grid.selectedRows": [{"household_id": 1}],
            "rc-members.data": {"columns": [], "by_household": {}},
        },
        "mis_only": None,
    },
    "rc-download": {
        "values": {"rc-export.n_clicks": 1, "rc-search.data": {"search": {"type": "cnic", "cnic": "{cnic}"}}},
        "mis_only": "head_cnic",
    },
    "admin-feedback": {"values": {}, "mis_only": '"received"'},
    "admin-names": {
        "values": {
            "admin-name-save.n_clicks": 1,
            "admin-name-code.value": "PK601",
            "admin-name-ur.value": "اٹک",
            "admin-name-reason.value": "security test",
        },
        "mis_only": "admin-names-table",
    },
    "rq-report_slug": {"values": {}, "mis_only": None},  # the public catalogue
    "rq-result": {"values": {"rq-submit.n_clicks": 1}, "mis_only": None},  # the public form; fails empty
    "rq-status-out": {
        "values": {
            "rq-status-go.n_clicks": 1,
            "rq-status-ref.value": "NSER-REQ-2026-000001",
            "rq-status-key.value": "guess",
        },
        "mis_only": None,
    },
    "rq-nda-name": {"values": {"rq-nda-upload.filename": "nda.pdf"}, "mis_only": None},  # echoes the name
    "rq-credentials": {
        # credentials go to the holder of the status key only, whoever the session is
        "values": {
            "rq-collect.n_clicks": 1,
            "rq-status-ref.value": "NSER-REQ-2026-000001",
            "rq-status-key.value": "guess",
        },
        "mis_only": None,
    },
    # integration (MIS only): each answers the others with nothing, or with a refusal
    "in-summary": {"values": {}, "mis_only": "in-counts"},
    "in-events": {"values": {"in-state.value": "pending"}, "mis_only": None},  # the rows: [] unless MIS
    "in-detail": {"values": {"in-events.selectedRows": [{"id": 1}]}, "mis_only": None},
    "in-action-out": {
        "values": {"in-confirm.n_clicks": 1, "in-events.selectedRows": [{"id": 999999}]},
        "mis_only": "no integration event 999999",  # MIS reaches the store; others are refused
    },
    "in-upload-name": {"values": {"in-upload.filename": "feed.csv"}, "mis_only": None},
    "in-load-out": {
        "values": {
            "in-load.n_clicks": 1,
            "in-feed.value": "excise_vehicles",
            "in-upload.contents": "data:text/csv;base64,Y25pYwo=",
            "in-upload.filename": "x.csv",
        },
        "mis_only": "rejected",
    },
    "in-outliers": {"values": {"in-outlier-go.n_clicks": 1}, "mis_only": None},
    "rqa-queue": {
        "values": {"rqa-approve.n_clicks": 1, "rqa-ref.value": "NSER-REQ-1999-999999"},
        "mis_only": "no request NSER-REQ-1999-999999",  # MIS reaches the decision; others are refused
    },
    "district-cards": {"values": {"district-code.data": "PK601"}, "mis_only": "Unprotected"},
    "district-download": {
        "values": {"district-code.data": "PK601"},
        "pattern": {"download-csv": [{"section": "tehsils"}], "download-xlsx": []},
        "mis_only": None,  # the public may download a district's tables; the content is checked below
    },
    "ex-url": {
        "values": {"ex-url.search": HOSTILE_SEARCH, "ex-url.pathname": "/explore"},
        "pattern": {"ex-quick": []},
        "mis_only": "Union council code",
    },
    "ex-export-token": {
        "values": {"ex-export-csv.n_clicks": 1, "ex-url.search": HOSTILE_SEARCH},
        "mis_only": None,
        "anonymous_must_not_see": '"data"',  # no export ticket without a session
    },
    "ex-download": {
        "values": {"ex-export-token.data": "eyJ1c2VyIjoibWlzIn0.forged.signature"},
        "mis_only": None,
        "nobody_gets": "content",
    },
    "ex-saved-views": {
        "values": {
            "ex-save-view.n_clicks": 1,
            "ex-view-name.value": "probe",
            "ex-url.search": HOSTILE_SEARCH,
        },
        "mis_only": None,
        "anonymous_must_not_see": "probe",
    },
    "home-cards": {"values": {}, "mis_only": "Unprotected"},
    "home-map": {
        "values": {"home-map-level.value": "district", "home-map-measure.value": "households"},
        "mis_only": None,
    },
    "home-nav": {"values": {"home-district-search.value": "PK601"}, "mis_only": None},
    "_pages_content": {
        "values": {"_pages_location.pathname": "/admin", "_pages_location.search": ""},
        "mis_only": "admin-users",
    },
}


def _split_output(output: str) -> list[dict]:
    parts = output[2:-2].split("...") if output.startswith("..") else [output]
    out = []
    for p in parts:
        ident, prop = p.rsplit(".", 1)
        out.append({"id": json.loads(ident) if ident.startswith("{") else ident, "property": prop})
    return out


def _payload(dep: dict, attack: dict, who: str) -> dict:
    def value(ident: str, prop: str):
        v = attack["values"].get(f"{ident}.{prop}")
        return json.loads(json.dumps(v).replace("{who}", who).replace("{cnic}", SOME_CNIC[0]))

    def entry(spec: dict):
        ident = spec["id"]
        if ident.startswith("{"):  # a pattern-matching (ALL) input: the concrete components it matches
            pattern = json.loads(ident)
            kind = pattern["type"]
            return [
                {
                    "id": {**{k: v for k, v in pattern.items() if v != ["ALL"]}, **c},
                    "property": spec["property"],
                    "value": 1,
                }
                for c in attack.get("pattern", {}).get(kind, [])
            ]
        return {"id": ident, "property": spec["property"], "value": value(ident, spec["property"])}

    outputs = _split_output(dep["output"])
    inputs = [entry(i) for i in dep["inputs"]]
    changed = []
    for i in inputs:
        for e in i if isinstance(i, list) else [i]:
            if e["value"] is not None:
                ident = (
                    json.dumps(e["id"], separators=(",", ":"), sort_keys=True)
                    if isinstance(e["id"], dict)
                    else e["id"]
                )
                changed.append(f"{ident}.{e['property']}")
    return {
        "output": dep["output"],
        "outputs": outputs if dep["output"].startswith("..") else outputs[0],
        "inputs": inputs,
        "state": [entry(s) for s in dep["state"]],
        "changedPropIds": changed[:1],
    }


def _post(request, base: str, payload: dict) -> tuple[int, str]:
    response = request.post(
        base + "/_dash-update-component",
        data=json.dumps(payload),
        headers={"Content-Type": "application/json"},
    )
    status, text = response.status, response.text() if response.status != 204 else ""
    if status == 200 and '"cacheKey"' in text:  # a background callback: poll its job until it answers
        handles = json.loads(text)
        for _ in range(100):
            time.sleep(0.2)
            response = request.post(
                f"{base}/_dash-update-component?cacheKey={handles['cacheKey']}&job={handles['job']}",
                data=json.dumps(payload),
                headers={"Content-Type": "application/json"},
            )
            status, text = response.status, response.text() if response.status != 204 else ""
            if status != 200 or '"running"' not in text and '"progress"' not in text:
                break
    return status, text


def _session(browser, base: str, user: str | None):
    context = browser.new_context()
    if user is not None:
        page = context.new_page()
        page.goto(f"{base}/login")
        page.fill("#login-username", user)
        page.fill("#login-password", PASSWORD)
        page.click("#login-submit")
        page.wait_for_selector("#user-badge")
        # Leave the explorer (its callbacks may still be in flight) before the test posts on its own;
        # the page closes with the context. (Closing it mid-callback hung one CI run for 15 minutes.)
        page.goto("about:blank")
    return context


def test_every_callback_refuses_what_the_session_may_not_see(app_server, browser, cubes_store):
    import duckdb

    with duckdb.connect(str(cubes_store.require_current().path), read_only=True) as con:
        SOME_CNIC[0] = con.execute("SELECT cnic FROM members WHERE cnic IS NOT NULL LIMIT 1").fetchone()[0]
    deps = browser.new_context().request.get(app_server + "/_dash-dependencies").json()
    server_side = [d for d in deps if not d.get("clientside_function")]
    keys = {_split_output(d["output"])[0]["id"] for d in server_side}
    assert keys == set(ATTACKS), f"callbacks without an attack entry: {keys - set(ATTACKS)}"

    answers: dict[tuple[str, str], tuple[int, str]] = {}
    for who, user in (("anonymous", None), ("business", "planner"), ("mis", "mis")):
        context = _session(browser, app_server, user)
        for dep in server_side:
            key = _split_output(dep["output"])[0]["id"]
            answers[who, key] = _post(context.request, app_server, _payload(dep, ATTACKS[key], who))
        context.close()

    for key, attack in ATTACKS.items():
        mis_status, mis_text = answers["mis", key]
        assert mis_status in (200, 204), (key, mis_status, mis_text[:300])
        if attack["mis_only"]:
            assert attack["mis_only"] in mis_text, f"{key}: MIS should see {attack['mis_only']!r}"
        for who in ("anonymous", "business"):
            status, text = answers[who, key]
            assert status in (200, 204), (who, key, status, text[:300])  # refusals are answers, not crashes
            assert "Traceback" not in text and "unprotected" not in text.lower(), (who, key)
            if attack["mis_only"]:
                assert attack["mis_only"] not in text, f"{who} got {attack['mis_only']!r} from {key}"
            if who == "anonymous" and "anonymous_must_not_see" in attack:
                assert attack["anonymous_must_not_see"] not in text, (key, text[:300])
        if attack.get("nobody_gets"):
            for who in ("anonymous", "business", "mis"):
                assert attack["nobody_gets"] not in answers[who, key][1], (who, key)

    # the district download is public, but a public download is the public (protected) table
    status, text = answers["anonymous", "district-download"]
    assert status == 200 and "Tehsil code" in text and "Unprotected" not in text
    # nobody but MIS added a user (the users table is read again, after every probe)
    final = _session(browser, app_server, "mis")
    dep = next(d for d in server_side if _split_output(d["output"])[0]["id"] == "admin-users")
    _, users = _post(final.request, app_server, _payload(dep, ATTACKS["admin-users"], "mis"))
    final.close()
    assert "intruder-mis" in users
    assert "intruder-anonymous" not in users and "intruder-business" not in users
