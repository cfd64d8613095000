"""Data requests (plan 7.2, 7.3, 8.5): which forum must authorize a request, and by when it is due.

Routing and timelines are data (``requests.yaml``); this module only reads and applies them. The form,
the queues and provisioning build on these functions.
"""

from __future__ import annotations

import datetime as dt
import functools
import json
import logging
import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from dashboard import governance, i18n
from dashboard.i18n import translated

RULES_PATH = Path(__file__).with_name("requests.yaml")
log = logging.getLogger(__name__)
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
    _check_delivery_rules(raw, types)
    return raw


def _check_delivery_rules(raw: dict, types: dict) -> None:
    """eligibility, channels, grants, the signed NDA, forum mailboxes and FAQs: each entry names what is
    wrong with it."""
    gov = governance.load()
    client_types = {t["client_type"] for t in gov["organisation_types"].values()}
    for i, rule in enumerate(raw.get("eligibility") or [], 1):
        if set(rule) - {"data", "client_types", "organisation_types_not", "why"} or not rule.get("why"):
            raise RequestRulesError(
                f"eligibility rule {i}: data, client_types or organisation_types_not, why"
            )
        if set(rule["data"]) - set(types):
            raise RequestRulesError(
                f"eligibility rule {i}: unknown data types {sorted(set(rule['data']) - set(types))}"
            )
        if set(rule.get("client_types") or []) - client_types:
            raise RequestRulesError(f"eligibility rule {i}: client types are {sorted(client_types)}")
        if set(rule.get("organisation_types_not") or []) - set(gov["organisation_types"]):
            raise RequestRulesError(f"eligibility rule {i}: unknown organisation types")
    if set(raw.get("channels") or {}) != {"portal", "api", "both"}:
        raise RequestRulesError("channels: portal, api and both, each with a label")
    grants = raw.get("grants") or {}
    if set(grants) != set(types):
        raise RequestRulesError(f"grants: one entry for each data type {sorted(types)}")
    for data, g in grants.items():
        if not g.get("record_roles") or set(g["record_roles"]) - set(gov["record_roles"]):
            raise RequestRulesError(f"grants {data}: record_roles from {sorted(gov['record_roles'])}")
        if set(g.get("api_scopes") or []) - set(gov["api_scopes"]):
            raise RequestRulesError(f"grants {data}: api_scopes from {sorted(gov['api_scopes'])}")
        if not isinstance(g.get("max_days"), int) or g["max_days"] < 1:
            raise RequestRulesError(f"grants {data}: max_days, a whole number of days")
        g["api_scopes"] = list(g.get("api_scopes") or [])
    nda = raw.get("signed_nda") or {}
    if set(nda.get("required_for") or []) - set(types) or not nda.get("types") or not nda.get("max_bytes"):
        raise RequestRulesError("signed_nda: required_for (data types), max_bytes and types")
    try:
        nda["types"] = {kind: bytes.fromhex(magic) for kind, magic in nda["types"].items()}
    except (TypeError, ValueError) as exc:
        raise RequestRulesError("signed_nda types: the first bytes of each kind of file, in hex") from exc
    missing = set(raw["forums"]) - {"none"} - set(raw.get("forum_mailboxes") or {})
    if missing:
        raise RequestRulesError(f"forum_mailboxes: give a mailbox for {sorted(missing)}")
    if not raw.get("mail_from"):
        raise RequestRulesError("mail_from: the sender of the product's messages")
    for i, item in enumerate(raw.get("faq") or [], 1):
        if set(item) != {"q", "a"}:
            raise RequestRulesError(f"faq {i}: a question (q) and its answer (a)")


def refusal(data: str, organisation_type: str) -> str | None:
    """Why an organisation of this type may not ask for this data at all (None when it may)."""
    rules = load_rules()
    types = governance.load()["organisation_types"]
    client = types.get(organisation_type, {}).get("client_type", "private")
    for rule in rules.get("eligibility") or []:
        if data not in rule["data"]:
            continue
        if "client_types" in rule and client not in rule["client_types"]:
            return rule["why"]
        if organisation_type in (rule.get("organisation_types_not") or []):
            return rule["why"]
    return None


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
# one mailbox, as mail servers accept it: no commas, brackets or spaces (they split or break addresses)
EMAIL = r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)+$"
PHONE = r"^\+?[0-9][0-9 \-]{6,18}$"
URL = r"https?://[^\s/$.?#][^\s]*"
DUTY_OF_FORUM = {"dg_nser": "dg_nser", "secretary_bisp": "secretary_bisp", "bisp_board": "bisp_board"}
STALE_CLAIM = dt.timedelta(minutes=10)  # a decision that died half-way may be taken again after this
TEXT_FIELDS = {  # field: (label, longest) — what the store keeps, so nothing is cut off silently
    "organisation_name": ("Name of the organisation", 200),
    "organisation_type": ("Type of organisation", 40),
    "address": ("Address", 400),
    "registration_body": ("Registered with", 200),
    "registration_number": ("Registration number", 100),
    "focal_person": ("Focal person", 200),
    "email": ("Email", 200),
    "phone": ("Contact number", 40),
    "purpose": ("Purpose of the organisation", 4000),
    "intended_use": ("Intended use of the data", 4000),
    "data_type": ("Type of data", 40),
    "granularity": ("Granularity", 4000),
    "frequency": ("Frequency", 20),
    "channel": ("Delivery", 10),
    "callback_url": ("API callback URL", 400),
    "report_slug": ("Report", 80),
}
REQUIRED = (
    ("organisation_name", "Name of the organisation"),
    ("address", "Address"),
    ("focal_person", "Focal person"),
    ("purpose", "Purpose of the organisation"),
    ("intended_use", "Intended use of the data"),
    ("granularity", "Granularity"),
)


class RequestError(ValueError):
    """A form or decision that cannot be accepted; the message names the field."""


@dataclass(frozen=True)
class Upload:
    """A file sent with the form (e.g. the signed NDA)."""

    filename: str
    content: bytes


@dataclass(frozen=True)
class Decision:
    reference: str
    state: str
    provisioned: dict | None


def check_signed_nda(upload: Upload | None) -> str:
    """The kind of file (pdf, png, jpeg) of a signed NDA; RequestError naming what is wrong otherwise."""
    rules = load_rules()["signed_nda"]
    if upload is None or not upload.content:
        raise RequestError("Signed NDA: upload the NDA signed by an authorised officer (PDF or a scan)")
    if len(upload.content) > rules["max_bytes"]:
        raise RequestError(
            f"Signed NDA: {upload.filename} is {len(upload.content) / 1e6:.1f} MB; "
            f"at most {rules['max_bytes'] / 1e6:.0f} MB"
        )
    for kind, magic in rules["types"].items():
        if upload.content.startswith(magic):
            return kind
    raise RequestError(
        f"Signed NDA: {upload.filename} is not a {', '.join(k.upper() for k in rules['types'])} file"
    )


MEDIA_TYPES = {"pdf": "application/pdf", "png": "image/png", "jpeg": "image/jpeg"}


def _hash_key(key: str) -> str:
    import hashlib

    return hashlib.sha256((key or "").encode()).hexdigest()


class DataRequests:
    def __init__(self, engine=None, log=None, outbox=None):
        from dashboard import store
        from dashboard.audit import AccessLog
        from dashboard.notifications import Outbox

        self.engine = engine or store.engine()
        self.sessions = store.sessions(self.engine)
        self.log = log or AccessLog(self.engine)
        self.outbox = outbox or Outbox(self.engine)

    # -- the form ---------------------------------------------------------------------------------------

    def check(self, form: dict, documents: dict[str, Upload] | None = None) -> dict:
        """The form's fields, cleaned, or RequestError naming the first field that is wrong."""
        if not isinstance(form, dict):
            raise RequestError("the form did not arrive; reload the page and try again")
        f = {k: (v.strip() if isinstance(v, str) else v) for k, v in form.items()}
        for field, (label, longest) in TEXT_FIELDS.items():
            value = f.get(field)
            if value is not None and not isinstance(value, str):
                raise RequestError(f"{label}: text expected")
            if value and len(value) > longest:
                raise RequestError(f"{label}: at most {longest} characters ({len(value)} given)")
        rules = load_rules()
        org_types = governance.load()["organisation_types"]
        for field, label in REQUIRED:
            if not f.get(field):
                raise RequestError(f"{label}: required")
        if f.get("organisation_type") not in org_types or f["organisation_type"] == "bisp":
            choices = sorted(k for k in org_types if k != "bisp")
            raise RequestError(f"Type of organisation: one of {choices}")
        registration = org_types[f["organisation_type"]].get("registration") or {}
        if registration.get("required") and not f.get("registration_number"):
            raise RequestError(
                f"Registration: {registration.get('body') or 'the registration'} is required for this type of organisation"
            )
        if not re.match(EMAIL, f.get("email") or ""):
            raise RequestError("Email: an address such as name@agency.gov.pk")
        if not re.match(PHONE, f.get("phone") or ""):
            raise RequestError("Contact number: digits, e.g. +92 51 1234567")
        if f.get("data_type") not in rules["data_types"]:
            raise RequestError(f"Type of data: one of {sorted(rules['data_types'])}")
        why_not = refusal(f["data_type"], f["organisation_type"])
        if why_not:
            raise RequestError(f"Type of data: {why_not}")
        if f.get("frequency") not in FREQUENCIES:
            raise RequestError("Frequency: one_time or continuous")
        f["channel"] = f.get("channel") or "portal"
        if f["channel"] not in rules["channels"]:
            raise RequestError(f"Delivery: one of {sorted(rules['channels'])}")
        if f.get("callback_url") and not re.fullmatch(URL, f["callback_url"]):
            raise RequestError("API callback URL: an http(s) address, e.g. https://agency.gov.pk/dci")
        if f.get("callback_url") and f["channel"] == "portal":
            raise RequestError("API callback URL: only for delivery through the API")
        if f["channel"] in ("api", "both") and not rules["grants"][f["data_type"]]["api_scopes"]:
            raise RequestError(
                f"Delivery: {rules['data_types'][f['data_type']].lower()} is not delivered through the API; "
                "choose the web portal"
            )
        if f["data_type"] in rules["signed_nda"]["required_for"]:
            if f.get("nda_accepted") is not True:  # the checkbox, ticked: nothing else counts
                raise RequestError("Record-level data needs the data-sharing agreement and NDA accepted")
            f["_nda_kind"] = check_signed_nda((documents or {}).get("signed_nda"))
        return f

    def submit(
        self, form: dict, today: dt.date | None = None, documents: dict[str, Upload] | None = None
    ) -> tuple[str, str, Route, dt.date]:
        """Check and store a request (with its signed NDA); returns (reference, status key, route, due
        date). The requester and the forum's secretariat are told."""
        import hashlib
        import secrets

        from sqlalchemy import select

        from dashboard.audit import Entry
        from dashboard.models import DataRequest, RequestDocument

        f = self.check(form, documents)
        published = False
        if f.get("report_slug"):
            from dashboard.reports import Reports

            published = Reports(self.engine).published(f["report_slug"]) is not None
            if not published:
                raise RequestError("Report: no published report with that name")
        today = today or dt.date.today()
        nda = (documents or {}).get("signed_nda") if "_nda_kind" in f else None
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
                status_key_hash=_hash_key(key),
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
                channel=f["channel"],
                callback_url=f.get("callback_url") or None,
                language=i18n.language(),  # the page's: the requester's mails are written in it
                report_slug=f.get("report_slug") or None,
                forum=r.forum,
                route_reason=r.why,
                service=service,
                due_on=due,
                state="closed" if r.forum == "none" else "submitted",
                nda_signed=nda is not None,
                submitted_at=dt.datetime.now(dt.UTC),
            )
            s.add(row)
            s.flush()
            row.reference = f"NSER-REQ-{today.year}-{row.id:06d}"
            reference = row.reference
            if nda is not None:
                s.add(
                    RequestDocument(
                        request_id=row.id,
                        kind="signed_nda",
                        filename=_safe_filename(nda.filename, f["_nda_kind"]),
                        media_type=MEDIA_TYPES[f["_nda_kind"]],
                        size=len(nda.content),
                        sha256=hashlib.sha256(nda.content).hexdigest(),
                        content=nda.content,
                        uploaded_at=dt.datetime.now(dt.UTC),
                    )
                )
        self.log.append(
            Entry(
                kind="data_request",
                outcome="submitted",
                username=f["email"],
                organisation=f["organisation_name"],
                action=f"{reference} → {r.forum}",
                parameters=f["data_type"],
                reason=f"signed NDA sha256 {hashlib.sha256(nda.content).hexdigest()}" if nda else None,
            )
        )
        self._tell_requester_of_submission(f, reference, r, service, due)
        if r.forum != "none":
            self.outbox.notify(
                load_rules()["forum_mailboxes"][r.forum],
                f"New data request {reference} for the {r.forum_label}",
                f"{f['organisation_name']} ({f['organisation_type']}) asks for "
                f"{load_rules()['data_types'][f['data_type']].lower()}.\n\nIntended use: {f['intended_use']}\n"
                f"Due: {due:%A %d %B %Y} ({service}).\n\nDecide on it at /admin/requests.",
                reference,
            )
        return reference, key, r, due

    def _tell_requester_of_submission(self, f, reference, r, service, due) -> None:
        """The requester's receipt, in the language of the page they asked from."""
        with i18n.speaking(i18n.language()):
            _ = i18n.gettext
            if r.forum == "none":
                body = translated(
                    "Your request {reference} needs no authorization: {why}.\n"
                    "Open the report at /reports/{slug}.",
                    reference=reference,
                    why=_(r.why),
                    slug=f.get("report_slug"),
                )
            else:
                body = translated(
                    "We received your request {reference}. It goes to the {forum} ({why}).\n"
                    "Expected answer by {due} ({service}).\n\n"
                    "Check its status on the request page with your reference and the status key shown when "
                    "you submitted (for your protection the key is not repeated here).",
                    reference=reference,
                    forum=_(r.forum_label),
                    why=_(r.why),
                    due=i18n.long_date(due),
                    service=_(service),
                )
            subject = translated("NSER data request {reference} received", reference=reference)
        self.outbox.notify(f["email"], subject, body, reference)

    # -- the requester ----------------------------------------------------------------------------------

    def _own(self, s, reference: str, key: str):
        import hmac

        from sqlalchemy import select

        from dashboard.models import DataRequest

        row = s.scalar(select(DataRequest).where(DataRequest.reference == (reference or "")))
        if row is None or not hmac.compare_digest(row.status_key_hash, _hash_key(key)):
            raise RequestError("no request with that reference and status key")
        return row

    def status(self, reference: str, key: str) -> dict:
        """What the requester may see of their request (the status key proves it is theirs)."""
        from sqlalchemy import select

        from dashboard.models import RequestDocument

        rules = load_rules()
        with self.sessions() as s:
            row = self._own(s, reference, key)
            docs = list(s.scalars(select(RequestDocument).where(RequestDocument.request_id == row.id)))
        granted = row.provisioned or {}
        return {
            "reference": row.reference,
            "state": "submitted" if row.state == "deciding" else row.state,
            "forum": rules["forums"][row.forum],
            "why": row.route_reason,
            "service": row.service,
            "due_on": row.due_on,
            "comment": row.comment,
            "submitted_at": row.submitted_at,
            "decided_at": row.decided_at if row.state in ("approved", "rejected") else None,
            "documents": [{"kind": d.kind, "filename": d.filename, "sha256": d.sha256} for d in docs],
            "granted": {
                k: granted.get(k)
                for k in ("user", "record_role", "scope", "api_client", "api_scopes", "expires")
            }
            if row.state == "approved"
            else None,
            "credentials_collected_at": row.credentials_collected_at,
        }

    def collect_credentials(self, reference: str, key: str, ip: str | None = None) -> dict:
        """Once, for the holder of the status key of an approved request: a temporary password for the
        portal user (to be changed at the first login) and a new secret for the API client. Nobody else
        ever sees them, the approver included; a second attempt is refused (and says when)."""
        from sqlalchemy import select, update

        from dashboard.accounts import Accounts
        from dashboard.api_clients import ApiClients
        from dashboard.audit import Entry
        from dashboard.models import ApiClient, DataRequest, User

        with self.sessions() as s:
            row = self._own(s, reference, key)
            granted = row.provisioned or {}
            user = (
                s.scalar(select(User).where(User.username == granted.get("user")))
                if granted.get("user")
                else None
            )
            client = (
                s.scalar(select(ApiClient).where(ApiClient.client_id == granted["api_client"]))
                if granted.get("api_client")
                else None
            )
        if row.state != "approved":
            raise RequestError(f"{row.reference} is not approved, so there are no credentials to collect")
        # check everything first, so a refusal changes nothing (a disabled account stays disabled)
        if granted.get("user") and (user is None or user.status == "disabled"):
            raise RequestError(
                f"the portal account of {row.reference} has been disabled or removed by BISP; ask the focal person"
            )
        if granted.get("api_client") and (client is None or client.status != "active"):
            raise RequestError(
                f"the API client of {row.reference} has been revoked by BISP; ask the focal person"
            )
        with self.sessions.begin() as s:
            claimed = s.execute(
                update(DataRequest)
                .where(DataRequest.id == row.id, DataRequest.credentials_collected_at.is_(None))
                .values(credentials_collected_at=dt.datetime.now(dt.UTC))
            ).rowcount
        if not claimed:
            with self.sessions() as s:
                when = s.get(DataRequest, row.id).credentials_collected_at
            raise RequestError(
                f"the credentials of {row.reference} were collected on {when:%d %B %Y at %H:%M} UTC; "
                "if that was not you, tell the BISP focal person at once"
            )
        out = {"expires": granted.get("expires")}
        try:
            if granted.get("user"):
                out["username"] = granted["user"]
                out["password"] = Accounts(self.engine, self.log).issue_temporary_password(
                    granted["user"], actor=f"requester of {row.reference}"
                )
            if granted.get("api_client"):
                out["client_id"] = granted["api_client"]
                out["client_secret"] = ApiClients(self.engine, log=self.log).rotate_secret(
                    granted["api_client"], actor=f"requester of {row.reference}"
                )
            self.log.append(  # logged before anything is handed over
                Entry(
                    kind="data_request",
                    outcome="collected",
                    ip=ip,
                    username=row.email,
                    organisation=row.organisation_name,
                    action=row.reference,
                    parameters=", ".join(k for k in ("username", "client_id") if k in out),
                )
            )
        except Exception as exc:
            with self.sessions.begin() as s:  # nothing was handed over: let the requester try again
                s.get(DataRequest, row.id).credentials_collected_at = None
            log.exception("collecting the credentials of %s failed", row.reference)
            raise RequestError(
                f"the credentials of {row.reference} could not be issued just now ({type(exc).__name__}); "
                "nothing was handed over — try again in a moment"
            ) from exc
        return out

    # -- the forums -------------------------------------------------------------------------------------

    def queue(self, principal) -> list:
        """Requests waiting for the forums this user sits on (MIS sees every open request)."""
        from sqlalchemy import select

        from dashboard.models import DataRequest

        if principal is None or principal.tier != "mis":
            raise RequestError("only BISP staff see the request queues")
        forums = [f for f, duty in DUTY_OF_FORUM.items() if duty in principal.duties]
        with self.sessions() as s:
            q = (
                select(DataRequest)
                .where(DataRequest.state.in_(("submitted", "deciding")))
                .order_by(DataRequest.due_on, DataRequest.id)
            )
            rows = list(s.scalars(q).all())
        return [r for r in rows if r.forum in forums] if forums else rows  # a forum member: their forum only

    def document(self, principal, reference: str, kind: str = "signed_nda"):
        """A document of a request, for BISP staff only (every download is in the access log)."""
        from sqlalchemy import select

        from dashboard.audit import Entry
        from dashboard.models import DataRequest, RequestDocument

        if principal is None or principal.tier != "mis":
            raise RequestError("only BISP staff see the documents of a request")
        with self.sessions() as s:
            doc = s.scalar(
                select(RequestDocument)
                .join(DataRequest, DataRequest.id == RequestDocument.request_id)
                .where(DataRequest.reference == reference, RequestDocument.kind == kind)
            )
        if doc is None:
            raise RequestError(f"{reference} has no {kind.replace('_', ' ')}")
        self.log.append(
            Entry(
                kind="data_request",
                outcome="document",
                user_id=principal.user_id,
                username=principal.username,
                organisation=principal.organisation,
                action=f"{reference} {kind}",
                parameters=doc.sha256,
            )
        )
        return doc

    def organisation_changes(self, row) -> tuple[bool, dict]:
        """(does the organisation exist?, {field: (now, asked)}) — what approving would change."""
        from sqlalchemy import select

        from dashboard.models import Organisation

        with self.sessions() as s:
            org = s.scalar(select(Organisation).where(Organisation.name == row.organisation_name))
        if org is None:
            return False, {}
        asked = {
            "org_type": row.organisation_type,
            "address": row.address,
            "registration_body": row.registration_body,
            "registration_number": row.registration_number,
        }
        return True, {
            k: (getattr(org, k), v) for k, v in asked.items() if v is not None and v != getattr(org, k)
        }

    def check_grant(self, row, grant: dict | None) -> dict:
        """The access a forum grants, checked against what the request's type of data allows."""
        rules = load_rules()["grants"][row.data_type]
        grant = dict(grant or {})
        role = grant.get("record_role") or rules["record_roles"][0]
        if role not in rules["record_roles"]:
            raise RequestError(
                f"Record role: a request for {row.data_type.replace('_', ' ')} data allows "
                f"{', '.join(rules['record_roles'])}, not {role}"
            )
        wants_api = row.channel in ("api", "both")
        scopes = grant.get("api_scopes")  # None: all the type of data allows; a list: exactly those
        if scopes is not None and (
            not isinstance(scopes, list | tuple) or not all(isinstance(x, str) for x in scopes)
        ):
            raise RequestError("API scopes: a list of scope names")
        scopes = list(rules["api_scopes"]) if scopes is None else list(scopes)
        if wants_api:
            extra = set(scopes) - set(rules["api_scopes"])
            if extra:
                raise RequestError(
                    f"API scopes: a request for {row.data_type.replace('_', ' ')} data allows "
                    f"{', '.join(rules['api_scopes']) or 'none'}, not {', '.join(sorted(extra))}"
                )
            if not scopes:
                raise RequestError(
                    "API scopes: this request asks for the API; grant at least one scope"
                    if rules["api_scopes"]
                    else f"API: a request for {row.data_type.replace('_', ' ')} data cannot be served by the API"
                )
        days = grant.get("days")
        if days is None or days == "":
            days = rules["max_days"]
        else:
            try:
                whole = float(days)
            except (TypeError, ValueError):
                raise RequestError("Days of access: a whole number") from None
            if not whole.is_integer():
                raise RequestError("Days of access: a whole number")
            days = int(whole)
        if not 1 <= days <= rules["max_days"]:
            raise RequestError(f"Days of access: between 1 and {rules['max_days']} for this type of data")
        if grant.get("record_role") is not None and not isinstance(grant["record_role"], str):
            raise RequestError("Record role: one role")
        if grant.get("scope") is not None and not isinstance(grant["scope"], str):
            raise RequestError("Area: a geography code such as PK6")
        area = (grant.get("scope") or "").strip() or None
        if area is not None:
            from dashboard.accounts import AccountError, _check_geo_code

            try:
                _check_geo_code(area)
            except AccountError as exc:
                raise RequestError(f"Area: {exc}") from None
        return {
            "record_role": role,
            "api_scopes": sorted(scopes) if wants_api else [],
            "days": days,
            "scope": area,
        }

    def decide(
        self, principal, reference: str, approve: bool, comment: str | None = None, grant: dict | None = None
    ) -> Decision:
        """Approve (and provision) or reject a request; only a member of its forum may decide.

        The request is claimed first (one decision even if two members press at once); provisioning then
        creates or updates the organisation, a portal user and/or an API client with the granted role,
        area, scopes and end date, and records the signed NDA. If provisioning fails the claim is released
        and the request stays in the queue. Nobody sees the new credentials here: the requester collects
        them once from the status page."""
        from sqlalchemy import and_, or_, select, update

        from dashboard.audit import Entry
        from dashboard.models import DataRequest, RequestDocument

        with self.sessions() as s:
            row = s.scalar(select(DataRequest).where(DataRequest.reference == reference))
        if row is None:
            raise RequestError(f"no request {reference}")
        duty = DUTY_OF_FORUM.get(row.forum)
        if principal is None or principal.tier != "mis" or duty not in principal.duties:
            raise RequestError(f"{reference} is for the {load_rules()['forums'][row.forum]} to decide")
        if row.state not in ("submitted", "deciding"):
            raise RequestError(f"{reference} is {row.state}; only a submitted request can be decided")
        if comment is not None and not isinstance(comment, str):
            raise RequestError("Comment: text expected")
        if not approve and not (comment or "").strip():
            raise RequestError("a rejection needs a comment for the requester")
        checked = self.check_grant(row, grant) if approve else None
        now = dt.datetime.now(dt.UTC)
        with self.sessions.begin() as s:
            claimed = s.execute(
                update(DataRequest)
                .where(
                    DataRequest.id == row.id,
                    or_(
                        DataRequest.state == "submitted",
                        and_(DataRequest.state == "deciding", DataRequest.decided_at < now - STALE_CLAIM),
                    ),
                )
                .values(state="deciding", decided_by=principal.user_id, decided_at=now)
            ).rowcount
        if not claimed:
            raise RequestError(f"{reference} is being decided by another member right now")
        state = "approved" if approve else "rejected"
        created: list[tuple[str, str]] = []  # what this attempt made, undone if it cannot finish
        try:
            provisioned = None
            if approve:
                with self.sessions() as s:
                    nda = s.scalar(
                        select(RequestDocument).where(
                            RequestDocument.request_id == row.id, RequestDocument.kind == "signed_nda"
                        )
                    )
                provisioned = self._provision(principal, row, checked, nda, created)
            with self.sessions.begin() as s:
                done = s.execute(
                    update(DataRequest)
                    .where(*self._our_claim(row.id, principal, now))
                    .values(state=state, comment=comment, provisioned=provisioned)
                ).rowcount
            if not done:
                raise RequestError(f"{reference} was taken over by another member; nothing was granted")
            self.log.append(
                Entry(
                    kind="data_request",
                    outcome=state,
                    user_id=principal.user_id,
                    username=principal.username,
                    organisation=principal.organisation,
                    action=reference,
                    parameters=json.dumps(provisioned, sort_keys=True, default=str) if provisioned else None,
                    reason=comment,
                )
            )
        except Exception as exc:
            self._undo(row.id, principal, now, created)
            if isinstance(exc, RequestError):
                raise
            log.exception("deciding %s failed", reference)
            raise RequestError(
                f"{reference} could not be {state} ({type(exc).__name__}); nothing was granted and the "
                "request waits in the queue — try again, or tell the MIS team if it keeps failing"
            ) from exc
        self._tell_requester_of_decision(row, state, comment, provisioned)
        return Decision(reference, state, provisioned)

    @staticmethod
    def _our_claim(request_id: int, principal, claimed_at: dt.datetime) -> tuple:
        """The request as this member claimed it (not as another member took it over later)."""
        from dashboard.models import DataRequest

        return (
            DataRequest.id == request_id,
            DataRequest.state == "deciding",
            DataRequest.decided_by == principal.user_id,
            DataRequest.decided_at == claimed_at,
        )

    def _undo(self, request_id: int, principal, claimed_at: dt.datetime, created: list) -> None:
        """A decision that could not finish: remove the accounts it made (nobody ever had their
        credentials) and give the request back to the queue, if it is still this member's claim."""
        from sqlalchemy import update

        from dashboard.accounts import Accounts
        from dashboard.api_clients import ApiClients
        from dashboard.models import DataRequest

        for kind, name in reversed(created):
            try:
                if kind == "user":
                    Accounts(self.engine, self.log).remove_unused_user(
                        name, principal.username, "provisioning failed"
                    )
                else:
                    ApiClients(self.engine, log=self.log).remove_unused(
                        name, principal.username, "provisioning failed"
                    )
            except Exception:  # keep undoing the rest; what is left is in the log for MIS to remove
                log.exception("could not remove %s %s after a failed decision", kind, name)
        with self.sessions.begin() as s:
            s.execute(
                update(DataRequest)
                .where(*self._our_claim(request_id, principal, claimed_at))
                .values(state="submitted", decided_by=None, decided_at=None)
            )

    def _provision(self, principal, row, grant: dict, nda, created: list) -> dict:
        import secrets

        from dashboard.accounts import AccountError, Accounts
        from dashboard.api_clients import ApiClientError, ApiClients

        accounts = Accounts(self.engine, self.log)
        exists, changes = self.organisation_changes(row)
        if "org_type" in changes:
            types = governance.load()["organisation_types"]
            before, asked = changes["org_type"]
            raise RequestError(
                f"{row.organisation_name} is registered as {types[before]['label']}, but the request says "
                f"{types[asked]['label']}: correct the organisation or reject the request"
            )
        until = dt.date.today() + dt.timedelta(days=grant["days"])
        out = {
            "organisation": row.organisation_name,
            "organisation_changes": {k: {"from": a, "to": b} for k, (a, b) in changes.items()},
            "record_role": grant["record_role"],
            "scope": grant["scope"],
            "expires": until.isoformat(),
            "user": None,
            "api_client": None,
            "api_scopes": grant["api_scopes"],
            "nda": {"filename": nda.filename, "sha256": nda.sha256, "size": nda.size} if nda else None,
        }
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
            elif changes:
                accounts.update_organisation(
                    row.organisation_name,
                    row.registration_body,
                    row.registration_number,
                    row.address,
                    actor=principal.username,
                )
            if row.channel in ("portal", "both"):
                base = re.sub(r"[^a-z0-9]", "", row.email.split("@")[0].lower())[:20] or "user"
                taken = {u.username for u, _ in accounts.users()}
                username, n = base, 1
                while username in taken:
                    n += 1
                    username = f"{base}{n}"
                # a password nobody knows: the requester collects a temporary one from the status page
                accounts.add_user(
                    username,
                    row.focal_person,
                    row.organisation_name,
                    secrets.token_urlsafe(32),
                    "business",
                    grant["record_role"],
                    [],
                    grant["scope"],
                    actor=principal.username,
                    access_until=until,
                )
                created.append(("user", username))
                out["user"] = username
            if row.channel in ("api", "both"):
                client_id, _unknown_secret = ApiClients(self.engine, log=self.log).add(
                    row.organisation_name,
                    f"{row.organisation_name[:170]} ({row.reference})",
                    grant["api_scopes"],
                    "business",
                    grant["record_role"],
                    grant["scope"],
                    actor=principal.username,
                    callback_url=row.callback_url,
                    access_until=until,
                )
                created.append(("api_client", client_id))
                out["api_client"] = client_id  # its secret is made anew when the requester collects it
        except (AccountError, ApiClientError) as exc:
            raise RequestError(f"provisioning: {exc}") from exc
        return out

    def _tell_requester_of_decision(self, row, state: str, comment: str | None, provisioned) -> None:
        """The decision, told to the requester in the language of their request (not the forum's page)."""
        with i18n.speaking(row.language):
            _ = i18n.gettext
            if state == "approved":
                got = []
                if provisioned.get("user"):
                    got.append(
                        translated(
                            "a web portal account ({user}, role {role})",
                            user=provisioned["user"],
                            role=_(provisioned["record_role"]),
                        )
                    )
                if provisioned.get("api_client"):
                    got.append(translated("an API client ({client})", client=provisioned["api_client"]))
                said = (
                    translated(
                        "Your request {reference} was approved: {comment}",
                        reference=row.reference,
                        comment=comment,
                    )
                    if comment
                    else translated("Your request {reference} was approved.", reference=row.reference)
                )
                body = (
                    said
                    + "\n\n"
                    + translated(
                        "Granted: {granted}, until {expires}.\n"
                        "Collect your credentials once on the request page: open the status box with your "
                        "reference and status key and choose 'Collect credentials'. The portal asks you to set "
                        "your own password at the first login.",
                        granted=_(" and ").join(got),
                        expires=provisioned["expires"],
                    )
                )
                subject = translated("NSER data request {reference} approved", reference=row.reference)
            else:
                body = translated(
                    "Your request {reference} was not approved.\n\nThe {forum} wrote: {comment}",
                    reference=row.reference,
                    forum=_(load_rules()["forums"][row.forum]),
                    comment=comment,
                )
                subject = translated("NSER data request {reference} rejected", reference=row.reference)
        self.outbox.notify(row.email, subject, body, row.reference)

    def overdue(self, today: dt.date | None = None) -> list:
        """Open requests past their due date, oldest first."""
        from sqlalchemy import select

        from dashboard.models import DataRequest

        today = today or dt.date.today()
        with self.sessions() as s:
            rows = list(
                s.scalars(
                    select(DataRequest)
                    .where(DataRequest.state.in_(("submitted", "deciding")), DataRequest.due_on < today)
                    .order_by(DataRequest.due_on)
                )
            )
        return rows

    def remind(self, today: dt.date | None = None) -> dict[str, int]:
        """Tell each forum's secretariat which of its requests are overdue; returns {forum: count}."""
        rules = load_rules()
        by_forum: dict[str, list] = {}
        for row in self.overdue(today):
            by_forum.setdefault(row.forum, []).append(row)
        for forum, rows in by_forum.items():
            lines = [
                f"- {r.reference}: {r.organisation_name}, {r.data_type}, due {r.due_on:%d %b %Y}"
                for r in rows
            ]
            self.outbox.notify(
                rules["forum_mailboxes"][forum],
                f"{len(rows)} overdue data request(s) for the {rules['forums'][forum]}",
                "These requests are past their service timeline (plan 8.5):\n"
                + "\n".join(lines)
                + "\n\nDecide on them at /admin/requests.",
            )
        return {f: len(r) for f, r in by_forum.items()}


def _safe_filename(name: str, kind: str) -> str:
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", (name or "signed-nda").rsplit("/", 1)[-1])[:150].strip("._")
    ext = {"pdf": ".pdf", "png": ".png", "jpeg": ".jpg"}[kind]
    return (stem or "signed-nda").removesuffix(ext) + ext
