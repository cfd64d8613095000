"""Organisations, users, logins: registration rules, Argon2 hashes, lockout, throttling, resets."""

from __future__ import annotations

import pytest
from sqlalchemy import select, text

from dashboard.accounts import AccountError, Accounts, LoginRefused
from dashboard.audit import AccessLog
from dashboard.models import User
from tests.dashboard.conftest import AUDIT_KEY

PASSWORD = "correct horse battery"


@pytest.fixture()
def accounts(store_engine) -> Accounts:
    acc = Accounts(store_engine, AccessLog(store_engine, key=AUDIT_KEY))
    acc.add_organisation("Planning Commission", "federal_government")
    acc.add_organisation("Acme Microfinance", "private_business", registration_number="SECP-0001234")
    return acc


def test_permissible_clientage_needs_registration(accounts):
    with pytest.raises(AccountError, match="registration"):
        accounts.add_organisation("Some NGO", "local_ngo")
    with pytest.raises(AccountError, match="unknown organisation type 'club'"):
        accounts.add_organisation("A club", "club")
    with pytest.raises(AccountError, match="already exists"):
        accounts.add_organisation("Planning Commission", "federal_government")
    org = accounts.add_organisation("BISP MIS", "bisp")
    assert org.gratis == "bisp_operations"


def test_users_are_validated(accounts):
    ok = dict(full_name="Amina Khan", organisation="Planning Commission", password=PASSWORD)
    with pytest.raises(AccountError, match="at least 12 characters"):
        accounts.add_user("amina", **{**ok, "password": "short"})
    with pytest.raises(AccountError, match="tier must be one of"):
        accounts.add_user("amina", **ok, tier="public")
    with pytest.raises(AccountError, match="not a province, division, district or tehsil code"):
        accounts.add_user("amina", **ok, scope="PK999")
    with pytest.raises(AccountError, match="no organisation named"):
        accounts.add_user("amina", **{**ok, "organisation": "Nobody"})
    with pytest.raises(AccountError, match="unknown approval duties"):
        accounts.add_user("amina", **ok, duties=["king"])
    accounts.add_user("amina", **ok, record_role="standard", duties=["dg_nser"], scope="PK6")
    with pytest.raises(AccountError, match="taken"):
        accounts.add_user("amina", **ok)


def test_password_is_stored_with_argon2id_and_login_works(accounts, store_engine):
    accounts.add_user(
        "amina", "Amina Khan", "Planning Commission", PASSWORD, scope="PK6", designation="Chief"
    )
    with store_engine.connect() as conn:
        stored = conn.execute(text("SELECT password_hash FROM users WHERE username = 'amina'")).scalar()
    assert stored.startswith("$argon2id$") and PASSWORD not in stored
    p = accounts.authenticate("amina", PASSWORD, ip="10.1.1.1")
    assert (p.username, p.organisation, p.tier, p.scope, p.client_type) == (
        "amina",
        "Planning Commission",
        "business",
        "PK6",
        "government",
    )


def test_lockout_after_repeated_failures_then_reset_unlocks(accounts):
    accounts.add_user("bilal", "Bilal Ahmed", "Acme Microfinance", PASSWORD)
    for _ in range(4):
        with pytest.raises(LoginRefused, match="wrong username or password"):
            accounts.authenticate("bilal", "guess guess guess", ip="10.2.2.2")
    with pytest.raises(LoginRefused, match="locked"):
        accounts.authenticate("bilal", "guess guess guess", ip="10.2.2.2")
    with pytest.raises(LoginRefused, match="locked"):  # even the right password is refused while locked
        accounts.authenticate("bilal", PASSWORD, ip="10.2.2.2")
    accounts.reset_password("bilal", "a brand new passphrase")
    assert accounts.authenticate("bilal", "a brand new passphrase").username == "bilal"
    with accounts.sessions() as s:
        assert s.scalar(select(User.must_change_password).where(User.username == "bilal"))


def test_unknown_users_get_the_same_message_and_disabled_users_cannot_log_in(accounts):
    with pytest.raises(LoginRefused, match="^wrong username or password$"):
        accounts.authenticate("nobody", PASSWORD)
    accounts.add_user("chand", "Chand Bibi", "Acme Microfinance", PASSWORD)
    accounts.disable("chand")
    with pytest.raises(LoginRefused, match="disabled"):
        accounts.authenticate("chand", PASSWORD)
    assert accounts.get("chand") is None


def test_many_failures_from_one_address_are_throttled(accounts):
    accounts.add_user("dawood", "Dawood Shah", "Acme Microfinance", PASSWORD)
    limit = accounts.rules["security"]["throttle_failures_per_ip"]
    for i in range(limit):
        with pytest.raises(LoginRefused):
            accounts.authenticate(f"stranger{i}", "whatever whatever", ip="203.0.113.9")
    with pytest.raises(LoginRefused, match="too many failed logins from this address"):
        accounts.authenticate("dawood", PASSWORD, ip="203.0.113.9")
    assert accounts.authenticate("dawood", PASSWORD, ip="198.51.100.7").username == "dawood"


def test_logins_and_admin_changes_are_in_the_access_log(accounts, store_engine):
    accounts.add_user("erum", "Erum Naz", "Acme Microfinance", PASSWORD)
    accounts.authenticate("erum", PASSWORD, ip="10.3.3.3")
    with pytest.raises(LoginRefused):
        accounts.authenticate("erum", "nope nope nope", ip="10.3.3.3")
    with store_engine.connect() as conn:
        rows = conn.execute(
            text("SELECT kind, outcome, action, username, ip FROM audit_log ORDER BY seq")
        ).all()
    kinds = [(r.kind, r.outcome, r.action) for r in rows]
    assert ("admin", "success", "organisation.add") in kinds and ("admin", "success", "user.add") in kinds
    logins = [(r.outcome, r.ip) for r in rows if r.kind == "login"]
    assert logins == [("success", "10.3.3.3"), ("failure", "10.3.3.3")]
    assert AccessLog(store_engine, key=AUDIT_KEY).verify()[0]
