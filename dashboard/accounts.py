"""Organisations, users and logins: the seed's organisational hierarchy and role-based access (8.2.1).

Passwords are hashed with Argon2id (memory-hard). Consecutive failed logins lock an account for a while;
many failures from one address slow that address down; an MIS admin can reset a password, which also
unlocks the account. Every change and every login, good or bad, goes to the access log.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import secrets
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from dashboard import governance, store
from dashboard.audit import AccessLog, Entry
from dashboard.models import LoginAttempt, Organisation, User

HASHER = PasswordHasher()  # Argon2id with the library's current defaults (memory-hard)
STATUSES = ("active", "locked", "disabled")


class AccountError(ValueError):
    """A request about organisations or users is invalid; the message says what to fix."""


class LoginRefused(Exception):
    """Login failed; the message is safe to show (it never says whether the user exists)."""


@dataclass(frozen=True)
class Principal:
    """A logged-in user as the rest of the app sees them."""

    user_id: int
    username: str
    full_name: str
    organisation_id: int
    organisation: str
    org_type: str
    client_type: str
    gratis: str | None
    tier: str
    record_role: str
    duties: tuple[str, ...]
    scope: str | None
    designation: str | None = None
    # a temporary password (a reset, or credentials collected from a data request) must be replaced
    # before the account can do anything else
    must_change_password: bool = False
    # derived from the password hash: a session opened with another password no longer matches
    session_stamp: str = ""


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _aware(t: dt.datetime | None) -> dt.datetime | None:
    return t.replace(tzinfo=dt.UTC) if t is not None and t.tzinfo is None else t


class Accounts:
    def __init__(self, engine=None, log: AccessLog | None = None):
        self.engine = engine or store.engine()
        self.sessions = store.sessions(self.engine)
        self.log = log or AccessLog(self.engine)
        self.rules = governance.load()

    # -- organisations ------------------------------------------------------------------------------

    def add_organisation(
        self,
        name: str,
        org_type: str,
        registration_body: str | None = None,
        registration_number: str | None = None,
        address: str | None = None,
        actor: str = "admin",
    ) -> Organisation:
        types = self.rules["organisation_types"]
        if not name or not name.strip():
            raise AccountError("an organisation needs a name")
        if org_type not in types:
            raise AccountError(f"unknown organisation type {org_type!r}; types: {', '.join(types)}")
        reg = types[org_type]["registration"]
        if reg.get("required") and not (registration_number and registration_number.strip()):
            raise AccountError(
                f"a {types[org_type]['label']} must give its registration ({reg['condition']}): "
                "use --registration-number"
            )
        with self.sessions.begin() as s:
            if s.scalar(select(Organisation).where(Organisation.name == name.strip())):
                raise AccountError(f"an organisation named {name.strip()!r} already exists")
            org = Organisation(
                name=name.strip(),
                org_type=org_type,
                registration_body=registration_body or reg.get("body"),
                registration_number=registration_number,
                address=address,
                gratis=types[org_type].get("gratis"),
                created_at=_now(),
            )
            s.add(org)
        self.log.append(
            Entry(
                kind="admin",
                outcome="success",
                username=actor,
                action="organisation.add",
                parameters=f'{{"name": "{org.name}", "type": "{org_type}"}}',
            )
        )
        return org

    def update_organisation(
        self,
        name: str,
        registration_body: str | None = None,
        registration_number: str | None = None,
        address: str | None = None,
        actor: str = "admin",
    ) -> dict[str, tuple[str | None, str | None]]:
        """Change an organisation's address or registration; returns {field: (before, after)} of what
        changed (audited with both values). Fields given as None are left as they are."""
        wanted = {
            "registration_body": registration_body,
            "registration_number": registration_number,
            "address": address,
        }
        with self.sessions.begin() as s:
            org = s.scalar(select(Organisation).where(Organisation.name == name))
            if org is None:
                raise AccountError(f"no organisation named {name!r}")
            changes = {
                k: (getattr(org, k), v) for k, v in wanted.items() if v is not None and v != getattr(org, k)
            }
            for k, (_, v) in changes.items():
                setattr(org, k, v)
        if changes:
            self.log.append(
                Entry(
                    kind="admin",
                    outcome="success",
                    username=actor,
                    action="organisation.update",
                    parameters=json.dumps(
                        {"name": name, "changes": {k: {"from": a, "to": b} for k, (a, b) in changes.items()}},
                        sort_keys=True,
                    ),
                )
            )
        return changes

    def organisations(self) -> list[Organisation]:
        with self.sessions() as s:
            return list(s.scalars(select(Organisation).order_by(Organisation.name)))

    # -- users --------------------------------------------------------------------------------------

    def _check_password(self, password: str) -> None:
        minimum = self.rules["security"]["min_password_length"]
        if len(password) < minimum:
            raise AccountError(f"a password needs at least {minimum} characters")

    def add_user(
        self,
        username: str,
        full_name: str,
        organisation: str,
        password: str,
        tier: str = "business",
        record_role: str = "none",
        duties: list[str] | None = None,
        scope: str | None = None,
        designation: str | None = None,
        location: str | None = None,
        actor: str = "admin",
        access_until: dt.date | None = None,
    ) -> User:
        if not username or not username.strip() or " " in username:
            raise AccountError("a username is needed, without spaces")
        if tier not in self.rules["tiers"]:
            raise AccountError(
                f"tier must be one of {', '.join(self.rules['tiers'])} (the public needs no account)"
            )
        if record_role not in self.rules["record_roles"]:
            raise AccountError(f"record role must be one of {', '.join(self.rules['record_roles'])}")
        duties = list(duties or [])
        bad = [d for d in duties if d not in self.rules["approval_duties"]]
        if bad:
            raise AccountError(
                f"unknown approval duties {bad}; duties: {', '.join(self.rules['approval_duties'])}"
            )
        if scope is not None:
            _check_geo_code(scope)
        self._check_password(password)
        with self.sessions.begin() as s:
            org = s.scalar(select(Organisation).where(Organisation.name == organisation))
            if org is None:
                raise AccountError(
                    f"no organisation named {organisation!r}; add it first with `nser orgs add`"
                )
            if s.scalar(select(User).where(User.username == username)):
                raise AccountError(f"the username {username!r} is taken")
            user = User(
                username=username,
                full_name=full_name,
                designation=designation,
                organisation_id=org.id,
                location=location,
                tier=tier,
                record_role=record_role,
                duties=duties,
                scope=scope,
                status="active",
                access_until=access_until,
                password_hash=HASHER.hash(password),
                created_at=_now(),
            )
            s.add(user)
        self.log.append(
            Entry(
                kind="admin",
                outcome="success",
                username=actor,
                action="user.add",
                parameters=f'{{"username": "{username}", "tier": "{tier}", "role": "{record_role}"}}',
            )
        )
        return user

    def users(self) -> list[tuple[User, Organisation]]:
        with self.sessions() as s:
            return list(
                s.execute(select(User, Organisation).join(Organisation).order_by(User.username)).all()
            )

    def _set(self, username: str, actor: str, action: str, **values) -> None:
        with self.sessions.begin() as s:
            user = s.scalar(select(User).where(User.username == username))
            if user is None:
                raise AccountError(f"no user {username!r}")
            for k, v in values.items():
                setattr(user, k, v)
        self.log.append(
            Entry(
                kind="admin",
                outcome="success",
                username=actor,
                action=action,
                parameters=f'{{"username": "{username}"}}',
            )
        )

    def disable(self, username: str, actor: str = "admin") -> None:
        self._set(username, actor, "user.disable", status="disabled")

    def enable(self, username: str, actor: str = "admin") -> None:
        self._set(username, actor, "user.enable", status="active", failed_logins=0, locked_until=None)

    def reset_password(self, username: str, new_password: str, actor: str = "admin") -> None:
        """MIS admin reset: sets a new password, unlocks the account and asks for a change at next login."""
        self._check_password(new_password)
        self._set(
            username,
            actor,
            "user.reset_password",
            password_hash=HASHER.hash(new_password),
            status="active",
            failed_logins=0,
            locked_until=None,
            must_change_password=True,
        )

    def remove_unused_user(self, username: str, actor: str, reason: str) -> None:
        """Delete an account nobody has used (never logged in): what a failed provisioning leaves."""
        with self.sessions.begin() as s:
            user = s.scalar(select(User).where(User.username == username))
            if user is None:
                return
            if user.last_login_at is not None:
                raise AccountError(f"{username} has logged in; disable the account instead")
            s.delete(user)
        self.log.append(
            Entry(
                kind="admin",
                outcome="success",
                username=actor,
                action="user.remove",
                parameters=json.dumps({"username": username}),
                reason=reason,
            )
        )

    def issue_temporary_password(self, username: str, actor: str = "admin") -> str:
        """A new random password that must be changed at the next login (shown to its holder once). It
        unlocks a locked account but never re-enables one MIS disabled."""
        with self.sessions() as s:
            user = s.scalar(select(User).where(User.username == username))
        if user is None:
            raise AccountError(f"no user {username!r}")
        if user.status == "disabled":
            raise AccountError(f"the account {username} is disabled; only the MIS team can enable it")
        password = secrets.token_urlsafe(12)
        self._set(
            username,
            actor,
            "user.temporary_password",
            password_hash=HASHER.hash(password),
            status="active",
            failed_logins=0,
            locked_until=None,
            must_change_password=True,
        )
        return password

    def change_password(self, username: str, current: str, new: str, confirm: str | None = None) -> None:
        """The user replaces their password (a temporary one, or by choice): the current password must be
        right, the new one must follow the policy, differ from the current one and match its confirmation."""
        if confirm is not None and new != confirm:
            raise AccountError("the new password and its confirmation differ")
        self._check_password(new)
        if new == current:
            raise AccountError("the new password must differ from the current one")
        with self.sessions.begin() as s:
            user = s.scalar(select(User).where(User.username == username))
            try:
                HASHER.verify(user.password_hash if user else HASHER.hash("x"), current or "")
                known = user is not None
            except (VerifyMismatchError, VerificationError, InvalidHashError):
                known = False
            if not known:
                raise AccountError("the current password is wrong")
            user.password_hash = HASHER.hash(new)
            user.must_change_password = False
        self.log.append(
            Entry(
                kind="admin",
                outcome="success",
                user_id=user.id,
                username=username,
                action="user.change_password",
            )
        )

    # -- login --------------------------------------------------------------------------------------

    def _throttled(self, s: Session, ip: str | None) -> bool:
        sec = self.rules["security"]
        if not ip:
            return False
        since = _now() - dt.timedelta(minutes=sec["throttle_window_minutes"])
        failures = s.scalar(
            select(func.count())
            .select_from(LoginAttempt)
            .where(LoginAttempt.ip == ip, LoginAttempt.success.is_(False), LoginAttempt.at >= since)
        )
        return failures >= sec["throttle_failures_per_ip"]

    def authenticate(self, username: str, password: str, ip: str | None = None) -> Principal:
        """Check a login; raises LoginRefused with a message that never says whether the user exists."""
        sec = self.rules["security"]
        generic = "wrong username or password"
        with self.sessions.begin() as s:
            if self._throttled(s, ip):
                s.add(LoginAttempt(username=username, ip=ip, success=False, at=_now()))
                outcome, reason = "failure", "too many failed logins from this address; try again later"
            else:
                user = s.scalar(select(User).where(User.username == username))
                outcome, reason = "failure", generic
                if user is None:
                    HASHER.hash(password)  # spend the same time as a real check
                elif user.status == "disabled":
                    reason = "this account is disabled; ask the MIS team"
                elif user.access_until is not None and user.access_until < _now().date():
                    reason = (
                        f"this account's access ended on {user.access_until:%d %B %Y}; ask BISP to renew it"
                    )
                elif (
                    user.status == "locked"
                    and _aware(user.locked_until)
                    and _aware(user.locked_until) > _now()
                ):
                    reason = (
                        "this account is locked after repeated failed logins; try later or ask the MIS team"
                    )
                else:
                    try:
                        HASHER.verify(user.password_hash, password)
                        ok = True
                    except (VerifyMismatchError, VerificationError, InvalidHashError):
                        ok = False
                    if ok:
                        if HASHER.check_needs_rehash(user.password_hash):
                            user.password_hash = HASHER.hash(password)
                        user.status, user.failed_logins, user.locked_until = "active", 0, None
                        user.last_login_at = _now()
                        outcome, reason = "success", None
                    else:
                        user.failed_logins += 1
                        if user.failed_logins >= sec["lockout_after_failures"]:
                            user.status = "locked"
                            user.locked_until = _now() + dt.timedelta(minutes=sec["lockout_minutes"])
                            reason = "this account is locked after repeated failed logins; try later or ask the MIS team"
                s.add(LoginAttempt(username=username, ip=ip, success=outcome == "success", at=_now()))
            principal = self.principal(s, username) if outcome == "success" else None
        self.log.append(
            Entry(
                kind="login",
                outcome=outcome,
                ip=ip,
                username=username,
                user_id=principal.user_id if principal else None,
                organisation=principal.organisation if principal else None,
                reason=reason,
            )
        )
        if principal is None:
            raise LoginRefused(reason)
        return principal

    def principal(self, s: Session, username: str) -> Principal | None:
        row = s.execute(
            select(User, Organisation).join(Organisation).where(User.username == username)
        ).first()
        if row is None:
            return None
        user, org = row
        client = self.rules["organisation_types"][org.org_type]["client_type"]
        return Principal(
            user.id,
            user.username,
            user.full_name,
            org.id,
            org.name,
            org.org_type,
            client,
            org.gratis,
            user.tier,
            user.record_role,
            tuple(user.duties or ()),
            user.scope,
            user.designation,
            bool(user.must_change_password),
            hashlib.sha256(user.password_hash.encode()).hexdigest()[:20],
        )

    def get(self, username: str) -> Principal | None:
        """The principal of an active user (None when unknown, disabled or locked)."""
        with self.sessions() as s:
            user = s.scalar(select(User).where(User.username == username))
            if user is None or user.status != "active":
                return None
            if user.access_until is not None and user.access_until < _now().date():
                return None  # the access a request granted has ended
            return self.principal(s, username)


def _check_geo_code(code: str) -> None:
    from data import geography

    known = (
        set(geography.provinces().province_code)
        | set(geography.divisions().division_code)
        | set(geography.districts().district_code)
        | set(geography.tehsils().tehsil_code)
    )
    if code not in known:
        raise AccountError(f"{code!r} is not a province, division, district or tehsil code")
