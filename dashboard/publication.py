"""Published reports are computed once through the gateway and served from a disk cache.

The public never runs live queries for a report: each panel of a published version is asked of the
governed gateway as the report's audience (public or business) with the ``approved_report`` mark, once
per (version, snapshot, parameter value), and kept in a diskcache under the data directory. Publishing
precomputes every parameter value; a new snapshot changes the key, so ``refresh`` (``nser reports
refresh``) precomputes again and old entries simply age out. Every computation is audited and metered
by the gateway like any other answer.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from cubes.gateway import Result
from cubes.query import Actor
from dashboard.oversight import governed_gateway
from dashboard.reports import (
    ReportNotFound,
    Reports,
    VersionInfo,
    canonical,
    parameter_choices,
    substitute,
)
from dashboard.store import shared_cache
from data.snapshots import SnapshotStore


def cache():
    """Published reports' answers, shared by every gunicorn worker (at most 1 GB)."""
    return shared_cache("report-cache", size_limit=2**30)


@dataclass(frozen=True)
class RenderedReport:
    """A published version's panels as the audience sees them, with what was chosen."""

    info: VersionInfo
    parameters: dict[str, str]
    panels: list[tuple[dict, Result]]
    from_cache: bool


def publisher(info: VersionInfo, user: str | None = None) -> Actor:
    """The actor a published report asks as: its audience's tier, marked as an approved report (a
    preview is logged under the MIS user who asked for it)."""
    return Actor(
        info.design["audience"],
        user=user or f"report:{info.slug}",
        organisation="BISP (published reports)",
        attributes={
            "approved_report": f"{info.slug}@v{info.version}",
            "client_type": "government",
            "gratis": "bisp",
        },
    )


def audiences_for(principal) -> tuple[str, ...]:
    """Which report audiences a session may read: the public's, and business reports once logged in."""
    return ("public",) if principal is None else ("public", "business")


def may_open(principal, slug: str, reports: Reports | None = None) -> bool:
    """Whether this session may open /reports/<slug>: published for an audience it belongs to; the MIS
    team opens anything (drafts render only in the designer's preview)."""
    if principal is not None and principal.tier == "mis":
        return True
    info = (reports or Reports()).published(slug)
    return info is not None and info.design["audience"] in audiences_for(principal)


def choose_parameters(info: VersionInfo, requested: dict[str, str] | None) -> dict[str, str]:
    """Parameter values: the viewer's where valid (a clear error otherwise), the designer's defaults else."""
    chosen = {}
    for p in info.design.get("parameters") or []:
        value = (requested or {}).get(p["name"]) or p["default"]
        if value not in {c for c, _ in parameter_choices(p)}:
            raise ValueError(f"{p['label']}: {value!r} is not one of the areas this report covers")
        chosen[p["name"]] = value
    return chosen


def render(
    slug: str, requested: dict[str, str] | None = None, reports: Reports | None = None
) -> RenderedReport:
    """The published version of a report (ReportNotFound for anything else), from the cache if there."""
    reports = reports or Reports()
    info = reports.published(slug)
    if info is None:
        raise ReportNotFound(f"no published report {slug!r}")
    params = choose_parameters(info, requested)
    snapshot = SnapshotStore().serving()  # the one the gateway answers from
    design = hashlib.sha256(canonical(info.design).encode()).hexdigest()[:16]  # (a re-used store)
    key = ("report", info.slug, info.version, design, snapshot.snapshot_id, tuple(sorted(params.items())))
    hit = cache().get(key)
    if hit is not None:
        return RenderedReport(info, params, [(panel, Result(**r)) for panel, r in hit], True)
    gateway, actor = governed_gateway(), publisher(info)
    panels = []
    for panel in info.design["panels"]:
        result = gateway.run_query(actor, substitute(panel["query"], params))
        panels.append((panel, result))
    cache().set(key, [(panel, result.to_json()) for panel, result in panels])
    return RenderedReport(info, params, panels, False)


def precompute(slug: str, reports: Reports | None = None) -> int:
    """Compute every parameter value of a published report for the current snapshot; returns the count."""
    reports = reports or Reports()
    info = reports.published(slug)
    if info is None:
        raise ReportNotFound(f"no published report {slug!r}")
    params = info.design.get("parameters") or []
    if not params:
        render(slug, None, reports)
        return 1
    first = params[0]  # one picker per report is what the designer offers; others keep their defaults
    count = 0
    for code, _ in parameter_choices(first):
        render(slug, {first["name"]: code}, reports)
        count += 1
    return count


def refresh(reports: Reports | None = None) -> dict[str, int]:
    """Precompute every published report for the current snapshot (after a new snapshot)."""
    reports = reports or Reports()
    return {info.slug: precompute(info.slug, reports) for info in reports.catalogue(("public", "business"))}


def preview(principal, design: object, requested: dict[str, str] | None = None) -> RenderedReport:
    """What the audience would see of a design not yet published (MIS only): the same queries, asked
    live as the audience with the approved-report mark, so protection is exactly what publication
    applies. Nothing is cached."""
    from dashboard.reports import WorkflowError, validate_design

    if principal is None or principal.tier != "mis":
        raise WorkflowError("only the MIS team may preview report designs")
    d = validate_design(design)
    info = VersionInfo(d["slug"], 0, "preview", d, principal.username, None, None, None)
    params = choose_parameters(info, requested)
    gateway, actor = governed_gateway(), publisher(info, user=principal.username)
    panels = [(p, gateway.run_query(actor, substitute(p["query"], params))) for p in d["panels"]]
    return RenderedReport(info, params, panels, False)
