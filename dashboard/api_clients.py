"""OAuth2 client credentials for partner organisations (seed 8.3): clients, hashed secrets, scopes,
short-lived signed bearer tokens, and revocation that takes effect at once.

A token is signed (itsdangerous, the app's secret key) and says only which client it was issued to and
when; every request re-reads the client from the store, so a revoked client's unexpired token stops
working on the next call. Secrets are random, shown once, and stored as Argon2id hashes.
"""

from __future__ import annotations

import datetime as dt
import re
import secrets
from dataclasses import dataclass

from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from itsdangerous import BadSignature, SignatureExpired, URLSafeTimedSerializer
from sqlalchemy import select

from dashboard import governance, store
from dashboard.accounts import HASHER
from dashboard.audit import AccessLog, Entry
from dashboard.models import ApiClient, Organisation

TOKEN_TTL = 900  # seconds a bearer token lives
RECORD_ROLES = ("none", "basic", "standard", "power")


class ApiClientError(ValueError):
    """A client that cannot be created as asked; the message names the field."""


class TokenRefused(Exception):
    """A token or credentials that do not admit the caller; the message is safe to return."""


@dataclass(frozen=True)
class Client:
    """An authenticated API client as the rest of the app sees it."""

    id: int
    client_id: str
    name: str
    organisation_id: int
    organisation: str
    client_type: str
    gratis: str | None
    scopes: tuple[str, ...]
    tier: str
    record_role: str | None
    scope_area: str | None
    requests_per_minute: int
    callback_url: str | None = None


class ApiClients:
    def __init__(self, engine=None, secret_key: str | None = None, log: AccessLog | None = None):
        self.engine = engine or store.engine()
        self.sessions = store.sessions(self.engine)
        self.log = log or AccessLog(self.engine)
        self._secret_key = secret_key

    def _serializer(self) -> URLSafeTimedSerializer:
        key = self._secret_key
        if key is None:
            from dashboard.web import secret_key

            key = secret_key()
        return URLSafeTimedSerializer(key, salt="nser-api-token")

    def add(
        self,
        organisation: str,
        name: str,
        scopes: list[str],
        tier: str = "business",
        record_role: str = "none",
        scope_area: str | None = None,
        requests_per_minute: int = 60,
        actor: str = "admin",
        callback_url: str | None = None,
        access_until: dt.date | None = None,
    ) -> tuple[str, str]:
        """Create a client; returns (client_id, secret). The secret is shown this once."""
        known = governance.load()["api_scopes"]
        unknown = set(scopes) - set(known)
        if not scopes or unknown:
            raise ApiClientError(
                f"scopes: choose from {sorted(known)}" + (f"; unknown {sorted(unknown)}" if unknown else "")
            )
        if tier not in ("business", "mis"):
            raise ApiClientError("tier: business or mis")
        if record_role not in RECORD_ROLES:
            raise ApiClientError(f"record role: one of {list(RECORD_ROLES)}")
        if not 1 <= requests_per_minute <= 10_000:
            raise ApiClientError("requests per minute: between 1 and 10,000")
        if callback_url is not None and not re.fullmatch(r"https?://[^\s/$.?#][^\s]*", callback_url):
            raise ApiClientError("callback URL: an http(s) address, e.g. https://partner.example/dci")
        client_id = "nser-" + secrets.token_hex(8)
        secret = secrets.token_urlsafe(32)
        with self.sessions.begin() as s:
            org = s.scalar(select(Organisation).where(Organisation.name == organisation))
            if org is None:
                raise ApiClientError(f"no organisation named {organisation!r}")
            s.add(
                ApiClient(
                    client_id=client_id,
                    name=name,
                    organisation_id=org.id,
                    secret_hash=HASHER.hash(secret),
                    scopes=sorted(scopes),
                    tier=tier,
                    record_role=record_role,
                    scope_area=scope_area,
                    requests_per_minute=requests_per_minute,
                    callback_url=callback_url.rstrip("/") if callback_url else None,
                    access_until=access_until,
                    status="active",
                    created_at=dt.datetime.now(dt.UTC),
                )
            )
        self.log.append(
            Entry(
                kind="admin",
                outcome="done",
                username=actor,
                action=f"api client {client_id} added for {organisation}",
            )
        )
        return client_id, secret

    def revoke(self, client_id: str, actor: str = "admin") -> None:
        with self.sessions.begin() as s:
            row = s.scalar(select(ApiClient).where(ApiClient.client_id == client_id))
            if row is None:
                raise ApiClientError(f"no API client {client_id!r}")
            row.status, row.revoked_at = "revoked", dt.datetime.now(dt.UTC)
        self.log.append(
            Entry(kind="admin", outcome="done", username=actor, action=f"api client {client_id} revoked")
        )

    def remove_unused(self, client_id: str, actor: str, reason: str) -> None:
        """Delete a client whose secret nobody ever had (what a failed provisioning leaves)."""
        with self.sessions.begin() as s:
            row = s.scalar(select(ApiClient).where(ApiClient.client_id == client_id))
            if row is None:
                return
            s.delete(row)
        self.log.append(
            Entry(
                kind="admin",
                outcome="done",
                username=actor,
                action=f"api client {client_id} removed",
                reason=reason,
            )
        )

    def rotate_secret(self, client_id: str, actor: str = "admin") -> str:
        """A new secret for an active client (shown this once); the old one stops working at once."""
        secret = secrets.token_urlsafe(32)
        with self.sessions.begin() as s:
            row = s.scalar(select(ApiClient).where(ApiClient.client_id == client_id))
            if row is None or row.status != "active":
                raise ApiClientError(f"no active API client {client_id!r}")
            row.secret_hash = HASHER.hash(secret)
        self.log.append(
            Entry(kind="admin", outcome="done", username=actor, action=f"api client {client_id} new secret")
        )
        return secret

    def list(self) -> list[tuple[ApiClient, str]]:
        with self.sessions() as s:
            return list(
                s.execute(
                    select(ApiClient, Organisation.name).join(Organisation).order_by(ApiClient.client_id)
                ).all()
            )

    def issue_token(self, client_id: str, secret: str) -> str:
        """A bearer token for valid, active client credentials (TokenRefused otherwise)."""
        with self.sessions() as s:
            row = s.scalar(select(ApiClient).where(ApiClient.client_id == client_id))
            ok = row is not None and row.status == "active" and not _access_ended(row)
            try:
                HASHER.verify(row.secret_hash if row else HASHER.hash("x"), secret or "")
            except (VerifyMismatchError, VerificationError, InvalidHashError):
                ok = False
            if not ok:
                raise TokenRefused("invalid_client")
        return self._serializer().dumps({"cid": client_id, "jti": secrets.token_hex(8)})

    def authenticate(self, token: str) -> Client:
        """The client behind a bearer token, re-read from the store (revocation is immediate)."""
        try:
            data = self._serializer().loads(token, max_age=TOKEN_TTL)
        except SignatureExpired:
            raise TokenRefused("the access token has expired; ask for a new one") from None
        except BadSignature:
            raise TokenRefused("the access token is not valid") from None
        with self.sessions() as s:
            found = s.execute(
                select(ApiClient, Organisation).join(Organisation).where(ApiClient.client_id == data["cid"])
            ).first()
        if found is None or found[0].status != "active":
            raise TokenRefused("this client's access has been revoked")
        row, org = found
        if _access_ended(row):
            raise TokenRefused(
                f"this client's access ended on {row.access_until:%d %B %Y}; ask BISP to renew it"
            )
        rules = governance.load()["organisation_types"][org.org_type]
        return Client(
            row.id,
            row.client_id,
            row.name,
            org.id,
            org.name,
            rules["client_type"],
            org.gratis,
            tuple(row.scopes),
            row.tier,
            row.record_role if row.record_role != "none" else None,
            row.scope_area,
            row.requests_per_minute,
            row.callback_url,
        )


def _access_ended(row: ApiClient) -> bool:
    return row.access_until is not None and row.access_until < dt.date.today()
