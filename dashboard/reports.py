"""Statistical reports (seed 6.3, 7.3): designs stored as data, versions, and the approval workflow.

A design is a JSON document (``validate_design`` checks it): slug, title, description, topic, audience
(public or business), optional parameters a viewer may change within limits (an area picker), and panels,
each a gateway query with a visual. The MIS team may give the texts readers see in Urdu as well
(``title_ur``, ``description_ur``, ``topic_ur``; a panel's ``title_ur`` and ``note_ur``); Urdu pages show
the English text where there is none. Versions move draft → submitted → approved or rejected → published →
retired. Only the MIS team designs; only a DG NSER user who did not design a version approves or rejects
it (four-eyes). Approving publishes the version and retires the one it replaces, which stays published
until then; rolling back re-publishes an earlier approved version in one action. Every transition is a
history event and a row of the access log.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from dataclasses import dataclass

from sqlalchemy import select

from cubes.model import load_model
from cubes.query import QueryError, parse_query
from dashboard import store
from dashboard.accounts import Principal
from dashboard.audit import AccessLog, Entry
from dashboard.models import Report, ReportEvent, ReportVersion, User

VISUALS = ("table", "bar", "stacked", "pyramid", "map", "headline")
AUDIENCES = ("public", "business")
STATES = ("draft", "submitted", "approved", "rejected", "published", "retired")
SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{2,79}$")
PARAM = re.compile(r"\{([a-z_]+)\}")
MAX_PANELS = 12
URDU_TEXTS = {"report": ("title", "description", "topic"), "panel": ("title", "note")}
APPROVER_DUTY = "dg_nser"
DONE = {
    "submit": "submitted",
    "approve": "approved",
    "reject": "rejected",
    "retire": "retired",
    "rollback": "rolled back to",
}


class DesignError(ValueError):
    """A report design that cannot be stored; the message names the field and what is wrong."""


class WorkflowError(ValueError):
    """A transition that is not allowed now, or not for this user; the message says why."""


class ReportNotFound(LookupError):
    """No such report, or not one this user may see (drafts are invisible below MIS)."""


def _check_keys(where: str, value: object, allowed: set[str], required: set[str]) -> dict:
    if not isinstance(value, dict):
        raise DesignError(f"{where}: expected an object")
    unknown = set(value) - allowed
    if unknown:
        raise DesignError(f"{where}: unknown field(s) {sorted(unknown)}; allowed: {sorted(allowed)}")
    missing = required - set(value)
    if missing:
        raise DesignError(f"{where}: missing field(s) {sorted(missing)}")
    return value


def _check_urdu(where: str, value: dict, fields: tuple[str, ...]) -> None:
    """Urdu texts are optional, but one given must say something."""
    for field in fields:
        key = f"{field}_ur"
        if key in value and (not isinstance(value[key], str) or not value[key].strip()):
            raise DesignError(f"{where} {key}: a non-empty Urdu text is required when given")


def substitute(value, params: dict[str, str]):
    """The query with ``{name}`` placeholders replaced by parameter values (strings only)."""
    if isinstance(value, str):
        return PARAM.sub(lambda m: params[m.group(1)], value)
    if isinstance(value, list):
        return [substitute(v, params) for v in value]
    if isinstance(value, dict):
        return {k: substitute(v, params) for k, v in value.items()}
    return value


def parameter_choices(param: dict) -> list[tuple[str, str]]:
    """(code, name) of every area a viewer may pick for an area parameter."""
    from data import geography

    level, within = param["level"], param.get("within")
    table = {"province": geography.provinces, "district": geography.districts, "tehsil": geography.tehsils}
    frame = table[level]()
    codes = frame[f"{level}_code"].tolist()
    names = frame[f"{level}_name" if f"{level}_name" in frame.columns else level].tolist()
    return [(c, n) for c, n in zip(codes, names, strict=True) if not within or c.startswith(within)]


def validate_design(design: object) -> dict:
    """The design, checked; raises DesignError naming the first problem."""
    model = load_model()
    d = _check_keys(
        "report",
        design,
        {"slug", "title", "description", "topic", "audience", "parameters", "panels"}
        | {f"{f}_ur" for f in URDU_TEXTS["report"]},
        {"slug", "title", "description", "topic", "audience", "panels"},
    )
    if not isinstance(d["slug"], str) or not SLUG.match(d["slug"]):
        raise DesignError("report slug: 3–80 lower-case letters, digits and hyphens, e.g. 'cct-by-district'")
    for field in ("title", "description", "topic"):
        if not isinstance(d[field], str) or not d[field].strip():
            raise DesignError(f"report {field}: a non-empty text is required")
    _check_urdu("report", d, URDU_TEXTS["report"])
    if d["audience"] not in AUDIENCES:
        raise DesignError(f"report audience: {d['audience']!r} is not one of {list(AUDIENCES)}")
    params: dict[str, str] = {}
    for i, p in enumerate(d.get("parameters") or []):
        where = f"parameter {i + 1}"
        _check_keys(
            where, p, {"name", "label", "level", "within", "default"}, {"name", "label", "level", "default"}
        )
        if not re.fullmatch(r"[a-z_]+", str(p["name"])):
            raise DesignError(f"{where} name: lower-case letters and underscores only")
        if p["level"] not in ("province", "district", "tehsil"):
            raise DesignError(f"{where} level: {p['level']!r} is not one of province, district, tehsil")
        codes = {c for c, _ in parameter_choices(p)}
        if p["default"] not in codes:
            raise DesignError(f"{where} default: {p['default']!r} is not a {p['level']} a viewer may pick")
        params[p["name"]] = p["default"]
    panels = d["panels"]
    if not isinstance(panels, list) or not 1 <= len(panels) <= MAX_PANELS:
        raise DesignError(f"report panels: between 1 and {MAX_PANELS} panels are required")
    for i, panel in enumerate(panels):
        where = f"panel {i + 1}"
        _check_keys(
            where,
            panel,
            {"title", "visual", "query", "note"} | {f"{f}_ur" for f in URDU_TEXTS["panel"]},
            {"title", "visual", "query"},
        )
        _check_urdu(where, panel, URDU_TEXTS["panel"])
        if panel["visual"] not in VISUALS:
            raise DesignError(f"{where} visual: {panel['visual']!r} is not one of {list(VISUALS)}")
        used = set(PARAM.findall(json.dumps(panel["query"])))
        if used - set(params):
            raise DesignError(f"{where} query: unknown parameter(s) {sorted(used - set(params))}")
        try:
            parse_query(substitute(panel["query"], params), model)
        except QueryError as exc:
            raise DesignError(f"{where} query: {exc}") from exc
    return d


GEOGRAPHY_LABELS = {
    "national": "Pakistan",
    "province": "Provinces",
    "division": "Divisions",
    "district": "Districts",
    "tehsil": "Tehsils",
    "union_council": "Union councils",
}


def geography_of(design: dict) -> str:
    """The finest geography a report shows (for the catalogue's filter): its panels' finest level."""
    order = list(GEOGRAPHY_LABELS)
    levels = [p["query"].get("geography", {}).get("level", "province") for p in design["panels"]]
    return max(levels, key=lambda lvl: order.index(lvl) if lvl in order else 0)


def matches(info: VersionInfo, text: str = "", topic: str = "", geography: str = "") -> bool:
    """Whether a report answers a catalogue search: every word in its title or description (English or
    Urdu), its topic, the finest geography it shows."""
    words = [w for w in text.lower().split() if w]
    d = info.design
    haystack = " ".join(
        d.get(k) or "" for k in ("title", "description", "title_ur", "description_ur")
    ).lower()
    return (
        (not topic or d["topic"] == topic)
        and (not geography or geography_of(d) == geography)
        and all(w in haystack for w in words)
    )


def canonical(design: dict) -> str:
    return json.dumps(design, sort_keys=True, indent=1, ensure_ascii=False)


@dataclass(frozen=True)
class VersionInfo:
    slug: str
    version: int
    state: str
    design: dict
    designer: str | None
    approved_by: str | None
    approved_at: dt.datetime | None
    published_at: dt.datetime | None


@dataclass(frozen=True)
class HistoryEvent:
    version: int
    action: str
    from_state: str | None
    to_state: str
    username: str
    comment: str | None
    at: dt.datetime


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Reports:
    """The report store and its workflow. Every method takes the acting principal and checks it here."""

    def __init__(self, engine=None, log: AccessLog | None = None):
        self.engine = engine or store.engine()
        self.sessions = store.sessions(self.engine)
        self.log = log or AccessLog(self.engine)

    # -- reading ---------------------------------------------------------------------------------------

    def published(self, slug: str) -> VersionInfo | None:
        with self.sessions() as s:
            row = s.execute(
                select(ReportVersion)
                .join(Report, Report.id == ReportVersion.report_id)
                .where(Report.slug == slug, ReportVersion.state == "published")
            ).scalar_one_or_none()
            return self._info(s, slug, row) if row else None

    def catalogue(
        self, audience: tuple[str, ...] = ("public",), text: str = "", topic: str = "", geography: str = ""
    ) -> list[VersionInfo]:
        """Published reports for these audiences, filtered by words in title/description, by topic and
        by the finest geography they show."""
        with self.sessions() as s:
            rows = s.execute(
                select(Report.slug, ReportVersion)
                .join(ReportVersion, Report.id == ReportVersion.report_id)
                .where(ReportVersion.state == "published")
                .order_by(Report.slug)
            ).all()
            out = [self._info(s, slug, v) for slug, v in rows]
        return [r for r in out if r.design["audience"] in audience and matches(r, text, topic, geography)]

    def versions(self, principal: Principal, slug: str) -> list[VersionInfo]:
        """Every version of a report (MIS only: drafts and rejected designs are not public)."""
        self._require_mis(principal, "see report drafts")
        with self.sessions() as s:
            report = self._report(s, slug)
            rows = s.scalars(
                select(ReportVersion)
                .where(ReportVersion.report_id == report.id)
                .order_by(ReportVersion.version)
            ).all()
            return [self._info(s, slug, v) for v in rows]

    def all_reports(self, principal: Principal) -> list[VersionInfo]:
        """The latest version of every report, whatever its state (MIS)."""
        self._require_mis(principal, "list reports")
        with self.sessions() as s:
            out = []
            for report in s.scalars(select(Report).order_by(Report.slug)).all():
                latest = self._latest(s, report)
                out.append(self._info(s, report.slug, latest))
            return out

    def history(self, principal: Principal, slug: str) -> list[HistoryEvent]:
        self._require_mis(principal, "see a report's history")
        with self.sessions() as s:
            report = self._report(s, slug)
            rows = s.execute(
                select(ReportEvent, ReportVersion.version)
                .join(ReportVersion, ReportVersion.id == ReportEvent.version_id)
                .where(ReportVersion.report_id == report.id)
                .order_by(ReportEvent.id)
            ).all()
            return [
                HistoryEvent(v, e.action, e.from_state, e.to_state, e.username, e.comment, e.at)
                for e, v in rows
            ]

    # -- the workflow ----------------------------------------------------------------------------------

    def save_draft(self, principal: Principal, design: object) -> VersionInfo:
        """Create a report or change its design: the open draft (or rejected version) is edited; after
        approval a new version is started and the published one stays until the new one is approved."""
        self._require_mis(principal, "design reports")
        d = validate_design(design)
        text = canonical(d)
        with self.sessions.begin() as s:
            report = s.scalar(select(Report).where(Report.slug == d["slug"]))
            if report is None:
                report = Report(slug=d["slug"], created_by=principal.user_id, created_at=_now())
                s.add(report)
                s.flush()
                latest = None
            else:
                latest = self._latest(s, report)
            if latest is not None and latest.state == "submitted":
                raise WorkflowError(
                    f"{d['slug']} v{latest.version} is waiting for approval; it can be edited after the decision"
                )
            if latest is not None and latest.state in ("draft", "rejected"):
                before = latest.state
                latest.design, latest.designer_id, latest.state, latest.updated_at = (
                    text,
                    principal.user_id,
                    "draft",
                    _now(),
                )
                version = latest
                self._event(s, version, principal, "edit", before, "draft", None)
            else:
                number = 1 if latest is None else latest.version + 1
                version = ReportVersion(
                    report_id=report.id,
                    version=number,
                    state="draft",
                    design=text,
                    designer_id=principal.user_id,
                    updated_at=_now(),
                )
                s.add(version)
                s.flush()
                self._event(s, version, principal, "create", None, "draft", None)
            info = self._info(s, d["slug"], version)
        self._audit(principal, "edit", info)
        return info

    def submit(self, principal: Principal, slug: str, comment: str | None = None) -> VersionInfo:
        self._require_mis(principal, "submit reports")
        return self._move(principal, slug, None, "submit", ("draft",), "submitted", comment)

    def approve(
        self, principal: Principal, slug: str, version: int, comment: str | None = None
    ) -> VersionInfo:
        """Approve and publish; the version it replaces is retired in the same transaction."""
        self._require_approver(principal)
        return self._move(principal, slug, version, "approve", ("submitted",), "published", comment)

    def reject(self, principal: Principal, slug: str, version: int, comment: str) -> VersionInfo:
        self._require_approver(principal)
        if not comment or not comment.strip():
            raise WorkflowError("a rejection needs a comment saying what to change")
        return self._move(principal, slug, version, "reject", ("submitted",), "rejected", comment)

    def retire(self, principal: Principal, slug: str, comment: str | None = None) -> VersionInfo:
        """Take a report off the public catalogue (revoke)."""
        self._require_mis(principal, "retire reports")
        return self._move(principal, slug, None, "retire", ("published",), "retired", comment, published=True)

    def rollback(
        self, principal: Principal, slug: str, version: int, comment: str | None = None
    ) -> VersionInfo:
        """Publish an earlier approved version again (it was approved once; no new approval needed)."""
        self._require_mis(principal, "roll reports back")
        return self._move(principal, slug, version, "rollback", ("retired",), "published", comment)

    # -- internals -------------------------------------------------------------------------------------

    def _move(
        self,
        principal: Principal,
        slug: str,
        version: int | None,
        action: str,
        from_states: tuple[str, ...],
        to_state: str,
        comment: str | None,
        published: bool = False,
    ) -> VersionInfo:
        with self.sessions.begin() as s:
            report = self._report(s, slug)
            if published:
                row = s.scalar(
                    select(ReportVersion).where(
                        ReportVersion.report_id == report.id, ReportVersion.state == "published"
                    )
                )
                if row is None:
                    raise WorkflowError(f"{slug} has no published version")
            elif version is None:
                row = self._latest(s, report)
            else:
                row = s.scalar(
                    select(ReportVersion).where(
                        ReportVersion.report_id == report.id, ReportVersion.version == version
                    )
                )
                if row is None:
                    raise ReportNotFound(f"{slug} has no version {version}")
            if row.state not in from_states:
                raise WorkflowError(
                    f"{slug} v{row.version} is {row.state}; only a {' or '.join(from_states)} version can be "
                    f"{DONE[action]}"
                )
            if action == "approve" and row.designer_id == principal.user_id:
                raise WorkflowError(
                    "four-eyes rule: you designed this version, so someone else must approve it"
                )
            if action == "reject" and row.designer_id == principal.user_id:
                raise WorkflowError(
                    "four-eyes rule: you designed this version, so someone else must decide on it"
                )
            if action == "rollback" and row.approved_at is None:
                raise WorkflowError(f"{slug} v{row.version} was never approved; it cannot be published")
            if to_state == "published":
                current = s.scalar(
                    select(ReportVersion).where(
                        ReportVersion.report_id == report.id, ReportVersion.state == "published"
                    )
                )
                if current is not None:
                    current.state, current.updated_at = "retired", _now()
                    self._event(
                        s,
                        current,
                        principal,
                        "supersede",
                        "published",
                        "retired",
                        f"replaced by v{row.version}",
                    )
            before = row.state
            if action == "approve":
                self._event(s, row, principal, "approve", before, "approved", comment)
                row.approved_by, row.approved_at = principal.user_id, _now()
                before = "approved"
            row.state, row.updated_at = to_state, _now()
            if to_state == "published":
                row.published_at = _now()
            self._event(
                s,
                row,
                principal,
                "publish" if action == "approve" else action,
                before,
                to_state,
                None if action == "approve" else comment,
            )
            info = self._info(s, slug, row)
        self._audit(principal, action, info, comment)
        return info

    @staticmethod
    def _require_mis(principal: Principal | None, what: str) -> None:
        if principal is None or principal.tier != "mis":
            raise WorkflowError(f"only the MIS team may {what}")

    @staticmethod
    def _require_approver(principal: Principal | None) -> None:
        if principal is None or principal.tier != "mis" or APPROVER_DUTY not in principal.duties:
            raise WorkflowError("only a Director General NSER may approve or reject reports")

    @staticmethod
    def _report(s, slug: str) -> Report:
        report = s.scalar(select(Report).where(Report.slug == slug))
        if report is None:
            raise ReportNotFound(f"no report {slug!r}")
        return report

    @staticmethod
    def _latest(s, report: Report) -> ReportVersion:
        return s.scalars(
            select(ReportVersion)
            .where(ReportVersion.report_id == report.id)
            .order_by(ReportVersion.version.desc())
            .limit(1)
        ).one()

    @staticmethod
    def _event(s, version, principal, action, from_state, to_state, comment) -> None:
        s.add(
            ReportEvent(
                version_id=version.id,
                user_id=principal.user_id,
                username=principal.username,
                action=action,
                from_state=from_state,
                to_state=to_state,
                comment=comment,
                at=_now(),
            )
        )

    @staticmethod
    def _info(s, slug: str, v: ReportVersion) -> VersionInfo:
        def name(user_id):
            return s.scalar(select(User.username).where(User.id == user_id)) if user_id else None

        return VersionInfo(
            slug,
            v.version,
            v.state,
            json.loads(v.design),
            name(v.designer_id),
            name(v.approved_by),
            v.approved_at,
            v.published_at,
        )

    def _audit(
        self, principal: Principal, action: str, info: VersionInfo, comment: str | None = None
    ) -> None:
        self.log.append(
            Entry(
                kind="report",
                outcome="done",
                user_id=principal.user_id,
                username=principal.username,
                organisation=principal.organisation,
                tier=principal.tier,
                action=f"{action} {info.slug} v{info.version}",
                parameters=json.dumps({"state": info.state, "comment": comment}),
            )
        )
