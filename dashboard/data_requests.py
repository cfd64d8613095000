"""Data requests (plan 7.2, 7.3, 8.5): which forum must authorize a request, and by when it is due.

Routing and timelines are data (``requests.yaml``); this module only reads and applies them. The form,
the queues and provisioning build on these functions.
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from dashboard import governance

RULES_PATH = Path(__file__).with_name("requests.yaml")
CONDITIONS = {"data", "sector", "permissible", "category_approved", "report_published"}


class RequestRulesError(ValueError):
    """requests.yaml is inconsistent; the message names the entry."""


@functools.cache
def load_rules(path: Path = RULES_PATH) -> dict:
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    forums, types = raw["forums"], raw["data_types"]
    for i, rule in enumerate(raw["routing"], 1):
        when = rule.get("when") or {}
        if set(when) - CONDITIONS:
            raise RequestRulesError(f"routing rule {i}: unknown conditions {sorted(set(when) - CONDITIONS)}")
        if "data" in when and when["data"] not in types:
            raise RequestRulesError(f"routing rule {i}: unknown data type {when['data']!r}")
        if rule.get("forum") not in forums or not rule.get("why"):
            raise RequestRulesError(f"routing rule {i}: a forum from {sorted(forums)} and a why")
    unknown = set(raw.get("not_permissible") or []) - set(governance.load()["organisation_types"])
    if unknown:
        raise RequestRulesError(f"not_permissible: unknown organisation types {sorted(unknown)}")
    raw["not_permissible"] = set(raw.get("not_permissible") or [])
    for data, service in raw["service_of"].items():
        if data not in types or service not in raw["services"]:
            raise RequestRulesError(f"service_of {data}: unknown data type or service")
    if set(types) - set(raw["service_of"]):
        raise RequestRulesError(
            f"service_of: give a service for {sorted(set(types) - set(raw['service_of']))}"
        )
    raw["holidays"] = {dt.date.fromisoformat(str(d)): name for d, name in raw["holidays"].items()}
    return raw


@dataclass(frozen=True)
class Route:
    forum: str
    forum_label: str
    why: str


def route(
    data: str,
    organisation_type: str,
    category_approved: bool = False,
    report_published: bool = False,
) -> Route:
    """The forum that authorizes a request for ``data`` from an organisation of ``organisation_type``
    (a 7.2 type, or anything else for "any other organisation")."""
    rules = load_rules()
    if data not in rules["data_types"]:
        raise ValueError(f"data type: one of {sorted(rules['data_types'])}")
    org_types = governance.load()["organisation_types"]
    permissible = organisation_type in org_types and organisation_type not in rules["not_permissible"]
    sector = (
        "public" if permissible and org_types[organisation_type]["client_type"] == "government" else "private"
    )
    facts = {
        "data": data,
        "sector": sector,
        "permissible": permissible,
        "category_approved": category_approved,
        "report_published": report_published,
    }
    for rule in rules["routing"]:
        if all(facts[k] == v for k, v in rule["when"].items()):
            return Route(rule["forum"], rules["forums"][rule["forum"]], rule["why"])
    raise RequestRulesError(f"no routing rule matches {facts}")


def is_working_day(day: dt.date) -> bool:
    return day.weekday() < 5 and day not in load_rules()["holidays"]


def add_working_days(start: dt.date, days: int) -> dt.date:
    """The date ``days`` working days after ``start`` (a request received on a holiday starts counting on
    the next working day)."""
    day, left = start, days
    while left > 0:
        day += dt.timedelta(days=1)
        if is_working_day(day):
            left -= 1
    return day


def working_days_between(start: dt.date, end: dt.date) -> int:
    """Working days after ``start`` up to and including ``end``."""
    n, day = 0, start
    while day < end:
        day += dt.timedelta(days=1)
        n += is_working_day(day)
    return n


def due_date(data: str, received: dt.date) -> tuple[str, dt.date]:
    """(service label, due date) for a request received on ``received``."""
    rules = load_rules()
    service = rules["services"][rules["service_of"][data]]
    return service["label"], add_working_days(received, service["working_days"])


def is_overdue(data: str, received: dt.date, today: dt.date) -> bool:
    return today > due_date(data, received)[1]


# -- the requests themselves (the form, the status page, the forums' queues, provisioning) -------------

FREQUENCIES = ("one_time", "continuous")
EMAIL = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"
PHONE = r"^\+?[0-9][0-9 \-]{6,18}$"
DUTY_OF_FORUM = {"dg_nser": "dg_nser", "secretary_bisp": "secretary_bisp", "bisp_board": "bisp_board"}


class RequestError(ValueError):
    """A form or decision that cannot be accepted; the message names the field."""


@dataclass(frozen=True)
class Decision:
    reference: str
    state: str
    provisioned: dict | None
    temporary_password: str | None = None


class DataRequests:
    def __init__(self, engine=None, log=None):
        from dashboard import store
        from dashboard.audit import AccessLog

        self.engine = engine or store.engine()
        self.sessions = store.sessions(self.engine)
        self.log = log or AccessLog(self.engine)

    def submit(self, form: dict, today: dt.date | None = None) -> tuple[str, str, Route, dt.date]:
        """Check and store a request; returns (reference, status key, route, due date)."""
        import hashlib
        import re
        import secrets

        from sqlalchemy import select

        from dashboard.audit import Entry
        from dashboard.models import DataRequest

        f = {k: (v.strip() if isinstance(v, str) else v) for k, v in (form or {}).items()}
        org_types = governance.load()["organisation_types"]
        for field, label in (
            ("organisation_name", "Name of the organisation"),
            ("address", "Address"),
            ("focal_person", "Focal person"),
            ("purpose", "Purpose of the organisation"),
            ("intended_use", "Intended use of the data"),
            ("granularity", "Granularity"),
        ):
            if not f.get(field):
                raise RequestError(f"{label}: required")
        if f.get("organisation_type") not in org_types:
            raise RequestError(f"Type of organisation: one of {sorted(org_types)}")
        registration = org_types[f["organisation_type"]].get("registration") or {}
        if registration.get("required") and not f.get("registration_number"):
            raise RequestError(
                f"Registration: {registration.get('body') or 'the registration'} is required for this type of organisation"
            )
        if not re.match(EMAIL, f.get("email") or ""):
            raise RequestError("Email: an address such as name@agency.gov.pk")
        if not re.match(PHONE, f.get("phone") or ""):
            raise RequestError("Contact number: digits, e.g. +92 51 1234567")
        if f.get("data_type") not in load_rules()["data_types"]:
            raise RequestError(f"Type of data: one of {sorted(load_rules()['data_types'])}")
        if f.get("frequency") not in FREQUENCIES:
            raise RequestError("Frequency: one_time or continuous")
        if f["data_type"] != "statistical" and not f.get("nda_accepted"):
            raise RequestError("Record-level data needs the data-sharing agreement and NDA accepted")
        published = False
        if f.get("report_slug"):
            from dashboard.reports import Reports

            published = Reports(self.engine).published(f["report_slug"]) is not None
            if not published:
                raise RequestError("Report: no published report with that name")
        today = today or dt.date.today()
        with self.sessions.begin() as s:
            approved_before = s.scalar(
                select(DataRequest.id).where(
                    DataRequest.organisation_type == f["organisation_type"],
                    DataRequest.data_type == f["data_type"],
                    DataRequest.state == "approved",
                )
            )
            r = route(f["data_type"], f["organisation_type"], bool(approved_before), published)
            service, due = due_date(f["data_type"], today)
            key = secrets.token_urlsafe(16)
            row = DataRequest(
                reference="pending",
                status_key_hash=hashlib.sha256(key.encode()).hexdigest(),
                organisation_name=f["organisation_name"][:200],
                organisation_type=f["organisation_type"],
                address=f["address"][:400],
                registration_body=(f.get("registration_body") or None),
                registration_number=(f.get("registration_number") or None),
                focal_person=f["focal_person"][:200],
                email=f["email"][:200],
                phone=f["phone"][:40],
                purpose=f["purpose"],
                intended_use=f["intended_use"],
                data_type=f["data_type"],
                granularity=f["granularity"],
                frequency=f["frequency"],
                report_slug=f.get("report_slug") or None,
                forum=r.forum,
                route_reason=r.why,
                service=service,
                due_on=due,
                state="closed" if r.forum == "none" else "submitted",
                nda_signed=bool(f.get("nda_accepted")),
                submitted_at=dt.datetime.now(dt.UTC),
            )
            s.add(row)
            s.flush()
            row.reference = f"NSER-REQ-{today.year}-{row.id:06d}"
            reference = row.reference
        self.log.append(
            Entry(
                kind="data_request",
                outcome="submitted",
                username=f["email"],
                organisation=f["organisation_name"],
                action=f"{reference} → {r.forum}",
                parameters=f["data_type"],
            )
        )
        return reference, key, r, due

    def status(self, reference: str, key: str) -> dict:
        """What the requester may see of their request (the status key proves it is theirs)."""
        import hashlib
        import hmac

        from sqlalchemy import select

        from dashboard.models import DataRequest

        with self.sessions() as s:
            row = s.scalar(select(DataRequest).where(DataRequest.reference == (reference or "")))
        if row is None or not hmac.compare_digest(
            row.status_key_hash, hashlib.sha256((key or "").encode()).hexdigest()
        ):
            raise RequestError("no request with that reference and status key")
        rules = load_rules()
        return {
            "reference": row.reference,
            "state": row.state,
            "forum": rules["forums"][row.forum],
            "why": row.route_reason,
            "service": row.service,
            "due_on": row.due_on,
            "comment": row.comment,
            "submitted_at": row.submitted_at,
        }

    def queue(self, principal) -> list:
        """Requests waiting for the forums this user sits on (MIS sees every open request)."""
        from sqlalchemy import select

        from dashboard.models import DataRequest

        if principal is None or principal.tier != "mis":
            raise RequestError("only BISP staff see the request queues")
        forums = [f for f, duty in DUTY_OF_FORUM.items() if duty in principal.duties]
        with self.sessions() as s:
            q = select(DataRequest).where(DataRequest.state == "submitted").order_by(DataRequest.due_on)
            rows = list(s.scalars(q).all())
        return [r for r in rows if r.forum in forums] if forums else rows  # a forum member: their forum only

    def decide(
        self, principal, reference: str, approve: bool, comment: str | None = None, grant: dict | None = None
    ) -> Decision:
        """Approve (and provision) or reject a request; only a member of its forum may decide."""
        import secrets

        from sqlalchemy import select

        from dashboard.accounts import AccountError, Accounts
        from dashboard.audit import Entry
        from dashboard.models import DataRequest, Organisation

        with self.sessions() as s:
            row = s.scalar(select(DataRequest).where(DataRequest.reference == reference))
        if row is None:
            raise RequestError(f"no request {reference}")
        if row.state != "submitted":
            raise RequestError(f"{reference} is {row.state}; only a submitted request can be decided")
        duty = DUTY_OF_FORUM.get(row.forum)
        if principal is None or principal.tier != "mis" or duty not in principal.duties:
            raise RequestError(f"{reference} is for the {load_rules()['forums'][row.forum]} to decide")
        if not approve and not (comment or "").strip():
            raise RequestError("a rejection needs a comment for the requester")
        provisioned, password = None, None
        if approve:
            grant = grant or {}
            accounts = Accounts(self.engine, self.log)
            with self.sessions() as s:
                exists = s.scalar(select(Organisation.id).where(Organisation.name == row.organisation_name))
            try:
                if not exists:
                    accounts.add_organisation(
                        row.organisation_name,
                        row.organisation_type,
                        row.registration_body,
                        row.registration_number,
                        row.address,
                        actor=principal.username,
                    )
                base = re.sub(r"[^a-z0-9]", "", row.email.split("@")[0].lower())[:20] or "user"
                username = base
                taken = {u.username for u, _ in accounts.users()}
                n = 1
                while username in taken:
                    n += 1
                    username = f"{base}{n}"
                password = secrets.token_urlsafe(12)
                role = grant.get("record_role") or ("none" if row.data_type == "statistical" else "basic")
                until = dt.date.today() + dt.timedelta(days=int(grant.get("days") or 365))
                accounts.add_user(
                    username,
                    row.focal_person,
                    row.organisation_name,
                    password,
                    "business",
                    role,
                    [],
                    grant.get("scope"),
                    actor=principal.username,
                    access_until=until,
                )
            except AccountError as exc:
                raise RequestError(f"provisioning: {exc}") from exc
            expires = until.isoformat()
            provisioned = {
                "organisation": row.organisation_name,
                "user": username,
                "record_role": role,
                "scope": grant.get("scope"),
                "expires": expires,
            }
        with self.sessions.begin() as s:
            live = s.scalar(select(DataRequest).where(DataRequest.reference == reference))
            live.state = "approved" if approve else "rejected"
            live.decided_by, live.decided_at, live.comment = (
                principal.user_id,
                dt.datetime.now(dt.UTC),
                comment,
            )
            live.provisioned = provisioned
        self.log.append(
            Entry(
                kind="data_request",
                outcome=live.state,
                user_id=principal.user_id,
                username=principal.username,
                action=reference,
                parameters=str(provisioned) if provisioned else None,
                reason=comment,
            )
        )
        return Decision(reference, "approved" if approve else "rejected", provisioned, password)
