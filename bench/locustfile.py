"""Locust users for `bench/load_test.py` (not run on its own): public visitors browsing district dashboards
and published reports, and business users slicing in the explorer.

Each user replays the callback bodies Chromium sent for the same pages (recorded by load_test.py into
``$NSER_LOAD_BODIES``), with the district or the explorer state varied, as a browser would post them.
Every response's ``X-NSER-Snapshot`` and ``X-NSER-Answers`` headers are appended to
``$NSER_LOAD_RESPONSES`` (JSON lines), so the run can be checked against the access log afterwards.
"""

from __future__ import annotations

import json
import os
import random
import re
import threading
import time

from locust import HttpUser, between, events, task

with open(os.environ["NSER_LOAD_BODIES"], encoding="utf-8") as _fh:
    BODIES = json.load(_fh)
OUT = open(os.environ["NSER_LOAD_RESPONSES"], "a", encoding="utf-8")  # noqa: SIM115 - for the whole run
OUT_LOCK = threading.Lock()
PASSWORD = os.environ.get("NSER_LOAD_PASSWORD", "nser-demo-2026")
CSRF = re.compile(
    r'"name":\s*"csrf_token"[^{}]*?"value":\s*"([^"]+)"|"value":\s*"([^"]+)"[^{}]*?"name":\s*"csrf_token"'
)


def _keep(name: str, response) -> None:
    """One line per response: what it was, its status, and which snapshot answered how many questions."""
    line = {
        "t": time.time(),
        "name": name,
        "status": response.status_code,
        "snapshot": response.headers.get("X-NSER-Snapshot"),
        "answers": int(response.headers.get("X-NSER-Answers") or 0),
        "refused": "not built yet" in response.text or "Something went wrong" in response.text,
    }
    if response.status_code == 0:  # no response: what the client saw instead (reset, timeout …)
        line["error"] = repr(getattr(response, "error", None))
    with OUT_LOCK:
        OUT.write(json.dumps(line) + "\n")


class _Replaying(HttpUser):
    abstract = True

    def callback(self, name: str, body: str) -> None:
        with self.client.post(
            "/_dash-update-component",
            data=body.encode(),
            headers={"Content-Type": "application/json"},
            name=name,
            catch_response=True,
        ) as response:
            _keep(name, response)
            if response.status_code not in (200, 204):
                response.failure(f"{response.status_code}: {response.text[:200]}")
            elif "not built yet" in response.text:
                response.failure("refused: statistics not built yet (a half-swapped snapshot)")

    def page(self, path: str, name: str) -> None:
        with self.client.get(path, name=name, catch_response=True) as response:
            _keep(name, response)
            if response.status_code != 200:
                response.failure(f"{response.status_code}")


class PublicVisitor(_Replaying):
    """Opens a district dashboard (the HTML, then the page and the dashboard callbacks), or a report."""

    fixed_count = int(os.environ.get("NSER_LOAD_PUBLIC", "50"))
    wait_time = between(3, 10)  # reading a dashboard before opening the next

    @task(4)
    def district(self) -> None:
        code = random.choice(BODIES["districts"])
        self.page(f"/district/{code}", "GET /district/<code>")
        for i, body in enumerate(BODIES["district"]):
            self.callback(f"district callback {i + 1}", body.replace(BODIES["district_code"], code))

    @task(1)
    def report(self) -> None:
        slug, bodies = random.choice(list(BODIES["reports"].items()))
        self.page(f"/reports/{slug}", "GET /reports/<slug>")
        for i, body in enumerate(bodies):
            self.callback(f"report callback {i + 1}", body)


class BusinessUser(_Replaying):
    """Logs in as the demo planner, then changes the explorer's state again and again."""

    fixed_count = int(os.environ.get("NSER_LOAD_BUSINESS", "10"))
    wait_time = between(2, 6)  # choosing the next breakdown

    def on_start(self) -> None:
        self.page("/login", "GET /login")
        response = self.client.post(
            "/_dash-update-component",
            data=BODIES["login_page"].encode(),
            headers={"Content-Type": "application/json"},
            name="login page callback",
        )
        hit = CSRF.search(response.text)
        token = (hit.group(1) or hit.group(2)) if hit else ""
        with self.client.post(
            "/auth/login",
            data={"username": "planner", "password": PASSWORD, "csrf_token": token, "next": "/explore"},
            allow_redirects=False,
            name="POST /auth/login",
            catch_response=True,
        ) as login:
            if login.status_code != 303 or "/login" in login.headers.get("Location", ""):
                login.failure(f"login failed: {login.status_code} {login.headers.get('Location')}")

    @task
    def slice(self) -> None:
        self.callback("explorer update", random.choice(BODIES["explorer"]))


@events.quitting.add_listener
def _close(environment, **_kwargs) -> None:
    OUT.flush()
