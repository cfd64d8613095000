"""Demo mode: seed one user per tier and record role, with the credentials printed in the README.

Only when NSER_DEMO=1; outside demo mode users come from `nser users add` and the MIS admin page.
"""

from __future__ import annotations

import fcntl
import json
from pathlib import Path

from sqlalchemy.exc import IntegrityError

from dashboard.accounts import AccountError, Accounts
from data.snapshots import data_dir

DEMO_PASSWORD = "nser-demo-2026"
DEMO_ORGS = [
    ("BISP NSER MIS Wing", "bisp", None),
    ("Planning & Development Board Punjab", "provincial_government", None),
    ("Pakistan Institute of Development Economics", "educational_research", "HEC-PIDE-0001"),
]
# username, full name, organisation, tier, record role, duties, scope
DEMO_USERS = [
    ("mis", "Sana Mirza (MIS analyst)", "BISP NSER MIS Wing", "mis", "power", ["dg_nser"], None),
    ("dg", "Director General NSER", "BISP NSER MIS Wing", "mis", "power", ["dg_nser"], None),
    ("planner", "Usman Tariq (planner)", "Planning & Development Board Punjab", "business", "none", [], None),
    (
        "planner_punjab",
        "Ayesha Malik (Punjab planner)",
        "Planning & Development Board Punjab",
        "business",
        "basic",
        [],
        "PK6",
    ),
    (
        "researcher",
        "Kamran Shah (researcher)",
        "Pakistan Institute of Development Economics",
        "business",
        "standard",
        [],
        None,
    ),
]


def seed(accounts: Accounts | None = None) -> list[str]:
    """Create the demo organisations and users if they are missing; returns the usernames created."""
    accounts = accounts or Accounts()
    # Several gunicorn workers may seed at once: whoever comes second finds the rows there.
    existing_orgs = {o.name for o in accounts.organisations()}
    for name, kind, reg in DEMO_ORGS:
        if name not in existing_orgs:
            try:
                accounts.add_organisation(name, kind, registration_number=reg, actor="demo")
            except (AccountError, IntegrityError):
                continue
    existing = {u.username for u, _ in accounts.users()}
    created = []
    for username, full, org, tier, role, duties, scope in DEMO_USERS:
        if username in existing:
            continue
        try:
            accounts.add_user(username, full, org, DEMO_PASSWORD, tier, role, duties, scope, actor="demo")
            created.append(username)
        except (AccountError, IntegrityError):
            continue
    return created


STARTER_REPORTS = Path(__file__).resolve().parent / "report_designs"


def seed_reports(accounts: Accounts | None = None) -> list[str]:
    """Publish the starter reports through the real workflow: the demo MIS analyst designs and submits,
    the demo DG NSER approves. Reports already in the store are left alone; returns the slugs published."""
    from dashboard.reports import Reports

    accounts = accounts or Accounts()
    designer, approver = accounts.get("mis"), accounts.get("dg")
    if designer is None or approver is None:
        return []
    reports = Reports(accounts.engine, accounts.log)
    lock_path = data_dir() / "demo-reports.lock"
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path, "w") as lock:  # gunicorn workers start together: one seeds, the others find it done
        fcntl.flock(lock, fcntl.LOCK_EX)
        return _publish_starters(reports, designer, approver)


def _publish_starters(reports, designer, approver) -> list[str]:
    from dashboard.reports import WorkflowError

    existing = {r.slug for r in reports.all_reports(designer)}
    published = []
    for path in sorted(STARTER_REPORTS.glob("*.json")):
        design = json.loads(path.read_text(encoding="utf-8"))
        if design["slug"] in existing:
            continue
        try:
            reports.save_draft(designer, design)
            reports.submit(designer, design["slug"], "starter report from the data-sharing plan")
            reports.approve(approver, design["slug"], 1, "approved for the demo")
            published.append(design["slug"])
        except (WorkflowError, IntegrityError):  # another worker seeded it first
            continue
    return published
