"""Connects the gateway to governance: its events go to the access log and the ledger, its answers to quotas.

``GovernanceSink`` writes each gateway event synchronously: the audit row first (if it cannot be written
the gateway returns no data), then the ledger entry. ``QuotaGuard`` refuses a query when the user's or
organisation's daily quota would be passed. ``actor_for`` turns a logged-in principal into the gateway's
actor, carrying what metering needs.
"""

from __future__ import annotations

import threading

from cubes.events import DataMetered, QueryAudited
from cubes.query import Actor
from dashboard.accounts import Principal
from dashboard.audit import AccessLog, Entry
from dashboard.metering import Customer, Metering, QuotaExceeded


def actor_for(principal: Principal | None, ip: str | None = None) -> Actor:
    """The gateway actor for a logged-in user, or the anonymous public."""
    if principal is None:
        return Actor("public", user="anonymous", attributes={"ip": ip, "client_type": "private"})
    return Actor(
        principal.tier,
        user=principal.username,
        organisation=principal.organisation,
        scope=principal.scope,
        attributes={
            "ip": ip,
            "user_id": principal.user_id,
            "organisation_id": principal.organisation_id,
            "client_type": principal.client_type,
            "gratis": principal.gratis,
            "record_role": principal.record_role if principal.record_role != "none" else None,
        },
    )


def customer_of(actor: Actor) -> Customer:
    a = actor.attributes
    return Customer(
        a.get("user_id"),
        actor.user,
        a.get("organisation_id"),
        actor.organisation,
        a.get("client_type") or "private",
        a.get("gratis"),
        actor.tier,
    )


class GovernanceSink:
    """The gateway's event sink in production: access log, then ledger."""

    def __init__(self, log: AccessLog | None = None, metering: Metering | None = None):
        self.log = log or AccessLog()
        self.metering = metering or Metering(self.log.engine)
        self._last = threading.local()

    def emit(self, event) -> None:
        self.emit_many([event])

    def emit_many(self, events: list) -> None:
        """Access-log rows for every QueryAudited (one write, chained in order), then the ledger line of
        each DataMetered, tied to the access-log row of the answer before it."""
        audited = [e for e in events if isinstance(e, QueryAudited)]
        seqs = iter(self.log.append_many([_entry(e) for e in audited]) if audited else [])
        for event in events:
            if isinstance(event, QueryAudited):
                self._last.seq = next(seqs)
            elif isinstance(event, DataMetered):
                if event.user_id is None and event.organisation_id is None:
                    continue  # the anonymous public is not metered
                customer = Customer(
                    event.user_id,
                    event.user,
                    event.organisation_id,
                    event.organisation,
                    event.client_type or "private",
                    event.gratis,
                    event.tier,
                )
                self.metering.charge(
                    customer, event.service, event.cells, audit_seq=getattr(self._last, "seq", None)
                )


def _entry(event: QueryAudited) -> Entry:
    return Entry(
        kind="record_search" if (event.cube or "").startswith("records:") else "query",
        outcome=event.outcome,
        ip=event.ip,
        user_id=event.user_id,
        username=event.user,
        organisation=event.organisation,
        tier=event.tier,
        action=(event.cube or "").removeprefix("records:") or event.cube,
        parameters=event.query,
        rows=event.rows,
        cells=event.cells,
        reason=event.reason,
        snapshot_id=event.snapshot_id,
    )


class QuotaGuard:
    """Daily quotas for the gateway: ``check`` raises ``refusal`` when a limit would be passed."""

    refusal = QuotaExceeded

    def __init__(self, metering: Metering | None = None):
        self.metering = metering or Metering()

    @staticmethod
    def applies(actor: Actor) -> bool:
        """The public has no account to count against; its shapes are limited instead."""
        return (
            actor.attributes.get("user_id") is not None or actor.attributes.get("organisation_id") is not None
        )

    def check(self, actor: Actor, cells: int = 0, rows: int = 0) -> None:
        if self.applies(actor):
            self.metering.check_quota(customer_of(actor), cells=cells, rows=rows)


_GATEWAY = None
_GATEWAY_LOCK = threading.Lock()


def governed_gateway(store=None):
    """The process-wide gateway with the access log, metering and quotas attached (app, API and CLI)."""
    global _GATEWAY
    from cubes.gateway import Gateway

    with _GATEWAY_LOCK:
        if _GATEWAY is None or (store is not None and _GATEWAY.store.root != store.root):
            from dashboard.store import shared_cache

            sink = GovernanceSink()
            _GATEWAY = Gateway(
                store, events=sink, quota=QuotaGuard(sink.metering), shared_cache=shared_cache("answer-cache")
            )
        return _GATEWAY
