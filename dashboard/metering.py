"""Data metering (seed 8.4): rates as data, a ledger entry per metered request, statements and quotas.

Rates start from ``governance.yaml`` and MIS can change them (each change is a new row, so the history
stays); a request is charged at the rate valid when it was served. Organisations of BISP itself, and
exchanges that enrich the registry, are gratis. Daily quotas per user and organisation (queries, cells,
rows) refuse further requests with a clear message — which also slows the averaging attacks that
perturbation alone cannot stop.
"""

from __future__ import annotations

import csv
import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func, select

from dashboard import governance, store
from dashboard.models import LedgerEntry, Organisation, Quota, Rate

METRICS = ("queries", "cells", "rows")


class QuotaExceeded(Exception):
    """A daily quota is used up; the message names which, never how much was used."""


@dataclass(frozen=True)
class Customer:
    """Who is charged: the user and the organisation with its client type and any gratis reason."""

    user_id: int | None
    username: str | None
    organisation_id: int | None
    organisation: str | None
    client_type: str = "private"
    gratis: str | None = None
    tier: str = "business"


def _day_start(now: dt.datetime | None = None) -> dt.datetime:
    now = now or dt.datetime.now(dt.UTC)
    return now.replace(hour=0, minute=0, second=0, microsecond=0)


class Metering:
    def __init__(self, engine=None):
        self.engine = engine or store.engine()
        self.sessions = store.sessions(self.engine)
        self.rules = governance.load()

    # -- rates --------------------------------------------------------------------------------------

    def rate(self, service: str, client_type: str, at: dt.datetime | None = None) -> float:
        if service not in self.rules["services"]:
            raise ValueError(f"unknown service {service!r}")
        at = at or dt.datetime.now(dt.UTC)
        with self.sessions() as s:
            row = s.scalar(
                select(Rate)
                .where(Rate.service == service, Rate.client_type == client_type, Rate.valid_from <= at)
                .order_by(Rate.valid_from.desc(), Rate.id.desc())
                .limit(1)
            )
        return row.rate if row is not None else float(self.rules["rates"][service][client_type])

    def set_rate(self, service: str, client_type: str, rate: float, set_by: str) -> None:
        if service not in self.rules["services"]:
            raise ValueError(f"unknown service {service!r}; services: {', '.join(self.rules['services'])}")
        if client_type not in ("government", "private"):
            raise ValueError("client type must be government or private")
        if rate < 0:
            raise ValueError("a rate cannot be negative")
        with self.sessions.begin() as s:
            s.add(
                Rate(
                    service=service,
                    client_type=client_type,
                    rate=float(rate),
                    set_by=set_by,
                    valid_from=dt.datetime.now(dt.UTC),
                )
            )

    def rates(self) -> list[dict]:
        out = []
        for service, meta in self.rules["services"].items():
            for client in ("government", "private"):
                out.append(
                    {
                        "service": service,
                        "label": meta["label"],
                        "unit": meta["unit"],
                        "client_type": client,
                        "rate": self.rate(service, client),
                    }
                )
        return out

    # -- quotas -------------------------------------------------------------------------------------

    def limits(self, customer: Customer) -> dict[str, dict[str, int]]:
        """Daily limits for the user and the organisation (0 = none); MIS users have none by default."""
        defaults = self.rules["quotas"]
        user = dict(defaults["mis_user"] if customer.tier == "mis" else defaults["user"])
        org = dict(defaults["organisation"])
        with self.sessions() as s:
            for q in s.scalars(
                select(Quota).where(
                    ((Quota.subject == "user") & (Quota.subject_id == (customer.user_id or -1)))
                    | (
                        (Quota.subject == "organisation")
                        & (Quota.subject_id == (customer.organisation_id or -1))
                    )
                )
            ):
                (user if q.subject == "user" else org)[q.metric] = q.per_day
        return {"user": user, "organisation": org}

    def set_quota(self, subject: str, subject_id: int, metric: str, per_day: int) -> None:
        if subject not in ("user", "organisation") or metric not in METRICS or per_day < 0:
            raise ValueError("quota: subject user|organisation, metric queries|cells|rows, per_day ≥ 0")
        with self.sessions.begin() as s:
            q = s.scalar(
                select(Quota).where(
                    Quota.subject == subject, Quota.subject_id == subject_id, Quota.metric == metric
                )
            )
            if q is None:
                s.add(Quota(subject=subject, subject_id=subject_id, metric=metric, per_day=per_day))
            else:
                q.per_day = per_day

    def used_today(self, customer: Customer) -> dict[str, dict[str, int]]:
        since = _day_start()
        out = {}
        with self.sessions() as s:
            for who, column, value in (
                ("user", LedgerEntry.user_id, customer.user_id),
                ("organisation", LedgerEntry.organisation_id, customer.organisation_id),
            ):
                if value is None:
                    out[who] = {m: 0 for m in METRICS}
                    continue
                n, cells, rows = s.execute(
                    select(
                        func.count(),
                        func.coalesce(
                            func.sum(LedgerEntry.units).filter(LedgerEntry.service == "aggregate_cells"), 0
                        ),
                        func.coalesce(
                            func.sum(LedgerEntry.units).filter(
                                LedgerEntry.service.in_(("portal_rows", "api_rows"))
                            ),
                            0,
                        ),
                    ).where(column == value, LedgerEntry.at >= since)
                ).one()
                out[who] = {"queries": int(n), "cells": int(cells), "rows": int(rows)}
        return out

    def check_quota(self, customer: Customer, cells: int = 0, rows: int = 0) -> None:
        """Raise QuotaExceeded if serving ``cells``/``rows`` more (and one more query) would pass a limit."""
        limits, used = self.limits(customer), self.used_today(customer)
        extra = {"queries": 1, "cells": cells, "rows": rows}
        for who in ("user", "organisation"):
            for metric in METRICS:
                limit = limits[who][metric]
                if limit and used[who][metric] + extra[metric] > limit:
                    whose = "your" if who == "user" else "your organisation's"
                    raise QuotaExceeded(
                        f"{whose} daily quota of {metric} is used up; it resets at midnight (UTC), "
                        "or ask the MIS team to raise it"
                    )

    # -- ledger and statements ----------------------------------------------------------------------

    def charge(
        self,
        customer: Customer,
        service: str,
        units: int,
        audit_seq: int | None = None,
        gratis: str | None = None,
    ) -> LedgerEntry:
        reason = gratis or customer.gratis
        rate = 0.0 if reason else self.rate(service, customer.client_type)
        entry = LedgerEntry(
            at=dt.datetime.now(dt.UTC),
            user_id=customer.user_id,
            username=customer.username,
            organisation_id=customer.organisation_id,
            organisation=customer.organisation,
            service=service,
            units=int(units),
            rate=rate,
            amount=round(rate * units, 2),
            gratis=reason,
            audit_seq=audit_seq,
        )
        with self.sessions.begin() as s:
            s.add(entry)
        return entry

    def statement(self, organisation: str, month: str) -> dict:
        """One organisation's month: lines per service and rate, totals, and usage per user."""
        try:
            start = dt.datetime.strptime(month, "%Y-%m").replace(tzinfo=dt.UTC)
        except ValueError as exc:
            raise ValueError(f"month {month!r} must look like 2026-11") from exc
        end = (start + dt.timedelta(days=32)).replace(day=1)
        with self.sessions() as s:
            org = s.scalar(select(Organisation).where(Organisation.name == organisation))
            if org is None:
                raise ValueError(f"no organisation named {organisation!r}")
            lines = s.execute(
                select(
                    LedgerEntry.service,
                    LedgerEntry.rate,
                    LedgerEntry.gratis,
                    func.count(),
                    func.sum(LedgerEntry.units),
                    func.sum(LedgerEntry.amount),
                )
                .where(LedgerEntry.organisation_id == org.id, LedgerEntry.at >= start, LedgerEntry.at < end)
                .group_by(LedgerEntry.service, LedgerEntry.rate, LedgerEntry.gratis)
                .order_by(LedgerEntry.service, LedgerEntry.rate)
            ).all()
            users = s.execute(
                select(
                    LedgerEntry.username,
                    func.count(),
                    func.sum(LedgerEntry.units),
                    func.sum(LedgerEntry.amount),
                )
                .where(LedgerEntry.organisation_id == org.id, LedgerEntry.at >= start, LedgerEntry.at < end)
                .group_by(LedgerEntry.username)
                .order_by(LedgerEntry.username)
            ).all()
        out_lines = [
            {
                "service": sv,
                "label": self.rules["services"][sv]["label"],
                "unit": self.rules["services"][sv]["unit"],
                "rate": rate,
                "gratis": gr,
                "requests": n,
                "units": int(u or 0),
                "amount": round(a or 0, 2),
            }
            for sv, rate, gr, n, u, a in lines
        ]
        return {
            "organisation": org.name,
            "org_type": org.org_type,
            "month": month,
            "lines": out_lines,
            "total_units": sum(x["units"] for x in out_lines),
            "total_amount": round(sum(x["amount"] for x in out_lines), 2),
            "users": [
                {"username": u, "requests": n, "units": int(units or 0), "amount": round(a or 0, 2)}
                for u, n, units, a in users
            ],
        }

    @staticmethod
    def write_csv(stmt: dict, path: Path) -> None:
        with open(path, "w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh)
            w.writerow([f"Statement for {stmt['organisation']}", stmt["month"]])
            w.writerow(["service", "unit", "rate (PKR)", "gratis", "requests", "units", "amount (PKR)"])
            for x in stmt["lines"]:
                w.writerow(
                    [
                        x["label"],
                        x["unit"],
                        x["rate"],
                        x["gratis"] or "",
                        x["requests"],
                        x["units"],
                        x["amount"],
                    ]
                )
            w.writerow(["total", "", "", "", "", stmt["total_units"], stmt["total_amount"]])
            w.writerow([])
            w.writerow(["user", "requests", "units", "amount (PKR)"])
            for u in stmt["users"]:
                w.writerow([u["username"], u["requests"], u["units"], u["amount"]])

    @staticmethod
    def write_xlsx(stmt: dict, path: Path) -> None:
        from openpyxl import Workbook
        from openpyxl.styles import Font

        wb = Workbook()
        ws = wb.active
        ws.title = "Statement"
        ws.append([f"NSER data metering statement — {stmt['organisation']}", stmt["month"]])
        ws["A1"].font = Font(bold=True)
        ws.append([])
        ws.append(["Service", "Unit", "Rate (PKR)", "Gratis", "Requests", "Units", "Amount (PKR)"])
        for cell in ws[3]:
            cell.font = Font(bold=True)
        for x in stmt["lines"]:
            ws.append(
                [x["label"], x["unit"], x["rate"], x["gratis"] or "", x["requests"], x["units"], x["amount"]]
            )
        ws.append(["Total", "", "", "", "", stmt["total_units"], stmt["total_amount"]])
        users = wb.create_sheet("Users")
        users.append(["User", "Requests", "Units", "Amount (PKR)"])
        for u in stmt["users"]:
            users.append([u["username"], u["requests"], u["units"], u["amount"]])
        wb.save(path)
