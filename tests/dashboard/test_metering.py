"""Metering: rates as data with history, a ledger entry per answer, statements equal the ledger, quotas."""

from __future__ import annotations

import csv

import pytest
from openpyxl import load_workbook
from sqlalchemy import func, select

from cubes.gateway import Gateway
from dashboard.accounts import Accounts
from dashboard.audit import AccessLog
from dashboard.metering import Metering, QuotaExceeded
from dashboard.models import LedgerEntry
from dashboard.oversight import GovernanceSink, QuotaGuard, actor_for
from tests.conftest import make_query
from tests.dashboard.conftest import AUDIT_KEY

PASSWORD = "correct horse battery"


@pytest.fixture()
def world(store_engine, cubes_store):
    log = AccessLog(store_engine, key=AUDIT_KEY)
    accounts = Accounts(store_engine, log)
    accounts.add_organisation("Punjab P&D", "provincial_government")
    accounts.add_organisation("Acme Microfinance", "private_business", registration_number="SECP-0001234")
    accounts.add_organisation("BISP MIS", "bisp")
    for user, org in (
        ("gov", "Punjab P&D"),
        ("biz", "Acme Microfinance"),
        ("biz2", "Acme Microfinance"),
        ("bisp", "BISP MIS"),
    ):
        accounts.add_user(user, user.title(), org, PASSWORD)
    metering = Metering(store_engine)
    gateway = Gateway(
        cubes_store, events=GovernanceSink(log, metering), quota=QuotaGuard(metering), cache=False
    )
    return accounts, metering, gateway, log


def test_rates_come_from_data_and_changes_keep_history(world):
    _, metering, _, _ = world
    assert metering.rate("aggregate_cells", "private") == 0.20
    metering.set_rate("aggregate_cells", "private", 0.25, set_by="mis")
    assert metering.rate("aggregate_cells", "private") == 0.25
    assert metering.rate("aggregate_cells", "government") == 0.05
    with pytest.raises(ValueError, match="unknown service"):
        metering.set_rate("gold", "private", 1.0, set_by="mis")


def test_every_answer_is_charged_and_statements_equal_the_ledger(world, tmp_path):
    accounts, metering, gateway, log = world
    asked = {}
    for user, q in (
        ("gov", make_query("households", dimensions=["urban_rural"])),
        ("biz", make_query("persons", ["persons", "widows"], ["gender"])),
        ("biz2", make_query("households", level="division")),
        ("biz", make_query("households", ["households", "share_beneficiary"], ["pmt_band"])),
        ("bisp", make_query("households")),
    ):
        result = gateway.run_query(actor_for(accounts.get(user), ip="10.0.0.5"), q)
        assert result.ok, result.reason
        asked.setdefault(user, []).append(len(result.rows) * len(q["measures"]))
    with metering.sessions() as s:
        entries = s.scalars(select(LedgerEntry).order_by(LedgerEntry.id)).all()
    assert [e.username for e in entries] == ["gov", "biz", "biz2", "biz", "bisp"]
    assert [e.units for e in entries] == asked["gov"] + asked["biz"][:1] + asked["biz2"] + asked["biz"][
        1:
    ] + asked["bisp"]
    gov, biz, biz2, biz_b, bisp = entries
    assert gov.rate == 0.05 and biz.rate == 0.20 and bisp.rate == 0 and bisp.gratis == "bisp_operations"
    assert all(e.audit_seq for e in entries)
    month = gov.at.strftime("%Y-%m")
    stmt = metering.statement("Acme Microfinance", month)
    assert stmt["total_units"] == biz.units + biz2.units + biz_b.units
    assert stmt["total_amount"] == round(0.20 * stmt["total_units"], 2)
    assert {u["username"]: u["units"] for u in stmt["users"]} == {
        "biz": biz.units + biz_b.units,
        "biz2": biz2.units,
    }
    metering.write_csv(stmt, tmp_path / "s.csv")
    metering.write_xlsx(stmt, tmp_path / "s.xlsx")
    with open(tmp_path / "s.csv", encoding="utf-8") as fh:
        total = next(r for r in csv.reader(fh) if r and r[0] == "total")
    assert int(total[5]) == stmt["total_units"] and float(total[6]) == stmt["total_amount"]
    ws = load_workbook(tmp_path / "s.xlsx")["Statement"]
    total_row = [r for r in ws.iter_rows(values_only=True) if r[0] == "Total"][0]
    assert total_row[5] == stmt["total_units"] and total_row[6] == stmt["total_amount"]
    with metering.sessions() as s:
        assert s.scalar(
            select(func.sum(LedgerEntry.amount)).where(LedgerEntry.organisation == "Acme Microfinance")
        ) == pytest.approx(stmt["total_amount"])
    assert log.verify()[0]


def test_quota_refuses_with_a_clear_logged_message(world, store_engine):
    accounts, metering, gateway, _ = world
    biz = accounts.get("biz")
    metering.set_quota("user", biz.user_id, "cells", 40)
    actor = actor_for(biz)
    first = gateway.run_query(
        actor, make_query("households", dimensions=["urban_rural"])
    )  # 7 provinces × 2 = 14
    assert first.ok
    too_big = gateway.run_query(actor, make_query("households", level="division"))  # 37 more cells
    assert not too_big.ok and "daily quota of cells is used up" in too_big.reason
    assert not any(ch.isdigit() for ch in too_big.reason)
    other = gateway.run_query(actor_for(accounts.get("biz2")), make_query("households", level="division"))
    assert other.ok  # a colleague has their own user quota
    metering.set_quota("organisation", biz.organisation_id, "queries", 2)  # two answered so far
    with pytest.raises(QuotaExceeded, match="organisation's daily quota of queries"):
        metering.check_quota(metering_customer(biz))
    from sqlalchemy import text

    with store_engine.connect() as conn:
        refused = conn.execute(text("SELECT outcome, reason FROM audit_log WHERE outcome = 'refused'")).all()
    assert any("quota" in r.reason for r in refused)


def metering_customer(principal):
    from dashboard.oversight import customer_of

    return customer_of(actor_for(principal))
