"""Tables of the app's relational store (SQLite by default, PostgreSQL in production).

The warehouse stays in DuckDB and read-only; this store holds who may do what, what they did (the
tamper-evident access log) and what it cost (the metering ledger). The schema is created and changed only
by the Alembic migrations in ``dashboard/migrations``.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Base(DeclarativeBase):
    pass


class Organisation(Base):
    """Levels 1–2 of the seed's organisational hierarchy: type of organisation and its name."""

    __tablename__ = "organisations"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    org_type: Mapped[str] = mapped_column(String(40))
    registration_body: Mapped[str | None] = mapped_column(String(200))
    registration_number: Mapped[str | None] = mapped_column(String(100))
    address: Mapped[str | None] = mapped_column(String(400))
    gratis: Mapped[str | None] = mapped_column(String(40))  # a gratis reason from governance.yaml, if any
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    users: Mapped[list[User]] = relationship(back_populates="organisation")


class User(Base):
    """Levels 3–4: the user's location and name, with tier, record role, duties, scope and status."""

    __tablename__ = "users"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(80), unique=True)
    full_name: Mapped[str] = mapped_column(String(200))
    designation: Mapped[str | None] = mapped_column(String(200))
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    location: Mapped[str | None] = mapped_column(String(40))  # geography code (district/tehsil) or city name
    tier: Mapped[str] = mapped_column(String(20))  # business | mis
    record_role: Mapped[str] = mapped_column(String(20), default="none")
    duties: Mapped[list] = mapped_column(JSON, default=list)
    scope: Mapped[str | None] = mapped_column(String(40))
    status: Mapped[str] = mapped_column(String(20), default="active")  # active | locked | disabled
    access_until: Mapped[dt.date | None] = mapped_column(Date)  # access granted by a request ends then
    password_hash: Mapped[str] = mapped_column(String(200))
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    last_login_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    organisation: Mapped[Organisation] = relationship(back_populates="users")


class LoginAttempt(Base):
    """Failed and successful logins by address, for throttling."""

    __tablename__ = "login_attempts"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(80))
    ip: Mapped[str | None] = mapped_column(String(64))
    success: Mapped[bool] = mapped_column(Boolean)
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)


class AuditHead(Base):
    """One row: the sequence number and hash of the last access-log row. Locking it serialises writers."""

    __tablename__ = "audit_head"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, default=0)
    hash: Mapped[str] = mapped_column(String(64))


class AuditEntry(Base):
    """The access log (seed 8.2.3): append-only, each row's hash chained to the previous row's."""

    __tablename__ = "audit_log"
    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), index=True)
    kind: Mapped[str] = mapped_column(
        String(40)
    )  # query | record_search | login | export | approval | admin …
    outcome: Mapped[str] = mapped_column(
        String(20)
    )  # answered | refused | invalid | error | success | failure
    ip: Mapped[str | None] = mapped_column(String(64))
    user_id: Mapped[int | None] = mapped_column(Integer)
    username: Mapped[str | None] = mapped_column(String(80))
    organisation: Mapped[str | None] = mapped_column(String(200))
    tier: Mapped[str | None] = mapped_column(String(20))
    action: Mapped[str | None] = mapped_column(String(80))  # type of search or query, e.g. cube name
    parameters: Mapped[str | None] = mapped_column(Text)  # canonical JSON of what was asked
    rows: Mapped[int] = mapped_column(Integer, default=0)
    cells: Mapped[int] = mapped_column(Integer, default=0)
    reason: Mapped[str | None] = mapped_column(Text)
    snapshot_id: Mapped[str | None] = mapped_column(String(80))
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class Rate(Base):
    """Data metering rate per service and client type (seed 8.4), with its validity."""

    __tablename__ = "rates"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    service: Mapped[str] = mapped_column(String(40))
    client_type: Mapped[str] = mapped_column(String(20))
    rate: Mapped[float] = mapped_column(Float)
    valid_from: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    set_by: Mapped[str | None] = mapped_column(String(80))


class LedgerEntry(Base):
    """One metered request: units × rate, or a gratis reason."""

    __tablename__ = "ledger"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    user_id: Mapped[int | None] = mapped_column(Integer, index=True)
    username: Mapped[str | None] = mapped_column(String(80))
    organisation_id: Mapped[int | None] = mapped_column(Integer, index=True)
    organisation: Mapped[str | None] = mapped_column(String(200))
    service: Mapped[str] = mapped_column(String(40))
    units: Mapped[int] = mapped_column(Integer)
    rate: Mapped[float] = mapped_column(Float)
    amount: Mapped[float] = mapped_column(Float)
    gratis: Mapped[str | None] = mapped_column(String(40))
    audit_seq: Mapped[int | None] = mapped_column(BigInteger)


class Quota(Base):
    """A daily limit for one user or organisation that overrides the defaults in governance.yaml."""

    __tablename__ = "quotas"
    __table_args__ = (UniqueConstraint("subject", "subject_id", "metric"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    subject: Mapped[str] = mapped_column(String(20))  # user | organisation
    subject_id: Mapped[int] = mapped_column(Integer)
    metric: Mapped[str] = mapped_column(String(20))  # queries | cells | rows
    per_day: Mapped[int] = mapped_column(Integer)  # 0 = unlimited


class SavedView(Base):
    """An explorer state a user saved under a name (the URL query string)."""

    __tablename__ = "saved_views"
    __table_args__ = (UniqueConstraint("user_id", "name"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    name: Mapped[str] = mapped_column(String(120))
    search: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Report(Base):
    """A statistical report (seed 6.3): a stable slug and its versions, each a design stored as data."""

    __tablename__ = "reports"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ReportVersion(Base):
    """One version of a report's design and where it stands: draft, submitted, approved, rejected,
    published or retired. The designer is whoever last changed the design (four-eyes rule)."""

    __tablename__ = "report_versions"
    __table_args__ = (UniqueConstraint("report_id", "version"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    report_id: Mapped[int] = mapped_column(ForeignKey("reports.id"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(20), index=True)
    design: Mapped[str] = mapped_column(Text)  # canonical JSON
    designer_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    approved_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    approved_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    published_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ReportEvent(Base):
    """A report's history: every transition, who made it, when and why."""

    __tablename__ = "report_events"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("report_versions.id"), index=True)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    username: Mapped[str] = mapped_column(String(80))
    action: Mapped[str] = mapped_column(String(20))
    from_state: Mapped[str | None] = mapped_column(String(20))
    to_state: Mapped[str] = mapped_column(String(20))
    comment: Mapped[str | None] = mapped_column(Text)
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ApiClient(Base):
    """An OAuth2 client of a partner organisation (seed 8.3): scopes, record role, hashed secret."""

    __tablename__ = "api_clients"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    client_id: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    secret_hash: Mapped[str] = mapped_column(String(200))
    scopes: Mapped[list] = mapped_column(JSON, default=list)
    tier: Mapped[str] = mapped_column(String(20), default="business")
    record_role: Mapped[str] = mapped_column(String(20), default="none")
    scope_area: Mapped[str | None] = mapped_column(String(40))
    requests_per_minute: Mapped[int] = mapped_column(Integer, default=60)
    callback_url: Mapped[str | None] = mapped_column(String(400))  # where async answers go (DCI on-search)
    status: Mapped[str] = mapped_column(String(20), default="active")  # active | revoked
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    access_until: Mapped[dt.date | None] = mapped_column(Date)  # access granted by a request ends then


class PartnerObservation(Base):
    """A record a partner posted back (seed 8.3), linked to the registered person and household, staged
    for MIS review; never part of a warehouse snapshot."""

    __tablename__ = "partner_observations"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    client_id: Mapped[str] = mapped_column(String(64), index=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    type: Mapped[str] = mapped_column(String(40), index=True)
    cnic: Mapped[str] = mapped_column(String(13))
    member_id: Mapped[int] = mapped_column(BigInteger)
    household_id: Mapped[int] = mapped_column(BigInteger, index=True)
    payload: Mapped[dict] = mapped_column(JSON)
    snapshot_id: Mapped[str | None] = mapped_column(String(80))
    status: Mapped[str] = mapped_column(String(20), default="staged")
    received_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class DataRequest(Base):
    """A request for data through the web form (plan 8.2.5), its route (7.3), timeline (8.5) and decision."""

    __tablename__ = "data_requests"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    reference: Mapped[str] = mapped_column(String(40), unique=True)
    status_key_hash: Mapped[str] = mapped_column(String(64))  # sha256 of the requester's status key
    organisation_name: Mapped[str] = mapped_column(String(200))
    organisation_type: Mapped[str] = mapped_column(String(40))
    address: Mapped[str] = mapped_column(String(400))
    registration_body: Mapped[str | None] = mapped_column(String(200))
    registration_number: Mapped[str | None] = mapped_column(String(100))
    focal_person: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(200))
    phone: Mapped[str] = mapped_column(String(40))
    purpose: Mapped[str] = mapped_column(Text)
    intended_use: Mapped[str] = mapped_column(Text)
    data_type: Mapped[str] = mapped_column(String(40))
    granularity: Mapped[str] = mapped_column(Text)
    frequency: Mapped[str] = mapped_column(String(20))
    report_slug: Mapped[str | None] = mapped_column(String(80))
    forum: Mapped[str] = mapped_column(String(40), index=True)
    route_reason: Mapped[str] = mapped_column(Text)
    service: Mapped[str] = mapped_column(String(80))
    due_on: Mapped[dt.date] = mapped_column(Date)
    state: Mapped[str] = mapped_column(String(20), default="submitted", index=True)
    decided_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    decided_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    comment: Mapped[str | None] = mapped_column(Text)
    nda_signed: Mapped[bool] = mapped_column(Boolean, default=False)
    provisioned: Mapped[dict | None] = mapped_column(JSON)
    submitted_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    channel: Mapped[str] = mapped_column(String(10), default="portal")  # portal | api | both
    callback_url: Mapped[str | None] = mapped_column(String(400))  # the API client's async answers
    language: Mapped[str] = mapped_column(String(5), default="en", server_default="en")  # of the mails
    credentials_collected_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class RequestDocument(Base):
    """A document that came with a data request, e.g. the signed NDA (Schedule III), kept as uploaded."""

    __tablename__ = "request_documents"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("data_requests.id"), index=True)
    kind: Mapped[str] = mapped_column(String(40))  # signed_nda
    filename: Mapped[str] = mapped_column(String(200))
    media_type: Mapped[str] = mapped_column(String(80))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    content: Mapped[bytes] = mapped_column(LargeBinary)
    uploaded_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Notification(Base):
    """The outbox: every message the product sends (to a requester, to a forum), kept whether or not it
    could be delivered, so nobody is told nothing silently."""

    __tablename__ = "notifications"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    to_address: Mapped[str] = mapped_column(String(200))
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    reference: Mapped[str | None] = mapped_column(String(40), index=True)  # the data request it is about
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    sent_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)


class IntegrationBatch(Base):
    """One delivery of a feed (a file, or the partner feedback staged through the API), all-or-nothing."""

    __tablename__ = "integration_batches"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    feed: Mapped[str] = mapped_column(String(40), index=True)
    origin: Mapped[str] = mapped_column(String(300))  # the file's name, or "feedback:<type>"
    sha256: Mapped[str] = mapped_column(String(64))
    rows: Mapped[int] = mapped_column(Integer)
    matched: Mapped[int] = mapped_column(Integer)
    unmatched: Mapped[int] = mapped_column(Integer)
    ambiguous: Mapped[int] = mapped_column(Integer)
    duplicates: Mapped[int] = mapped_column(Integer)
    events: Mapped[int] = mapped_column(Integer)
    snapshot_id: Mapped[str | None] = mapped_column(String(80))  # the snapshot it was matched against
    loaded_by: Mapped[str] = mapped_column(String(80))
    loaded_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    __table_args__ = (UniqueConstraint("feed", "sha256", name="uq_integration_batch_content"),)


class IntegrationRecord(Base):
    """A record of a batch with what matching found: the member and household, or why not (evidence)."""

    __tablename__ = "integration_records"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("integration_batches.id"), index=True)
    line: Mapped[int] = mapped_column(Integer)  # the line of the file (header = 1) or the record's index
    cnic: Mapped[str | None] = mapped_column(String(13), index=True)
    area_code: Mapped[str | None] = mapped_column(String(20))
    payload: Mapped[dict] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(20))  # matched | unmatched | ambiguous | duplicate
    reason: Mapped[str | None] = mapped_column(Text)
    member_id: Mapped[int | None] = mapped_column(BigInteger)
    household_id: Mapped[int | None] = mapped_column(BigInteger, index=True)
    evidence: Mapped[dict | None] = mapped_column(JSON)  # the registry's values the rules compared


class IntegrationEvent(Base):
    """What a rule raised from a matched record: a death, a hold or a flag, reviewed by MIS, open to the
    household's appeal, applied by the next build while confirmed."""

    __tablename__ = "integration_events"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    record_id: Mapped[int] = mapped_column(ForeignKey("integration_records.id"), index=True)
    batch_id: Mapped[int] = mapped_column(ForeignKey("integration_batches.id"), index=True)
    feed: Mapped[str] = mapped_column(String(40), index=True)
    rule: Mapped[str] = mapped_column(String(60))
    effect: Mapped[str] = mapped_column(String(20))  # deceased | hold | flag
    code: Mapped[str | None] = mapped_column(String(40))
    fact_key: Mapped[str] = mapped_column(String(64), unique=True)  # the same fact raises one event
    cnic: Mapped[str | None] = mapped_column(String(13), index=True)
    area_code: Mapped[str | None] = mapped_column(String(20))
    member_id: Mapped[int | None] = mapped_column(BigInteger)
    household_id: Mapped[int | None] = mapped_column(BigInteger, index=True)
    district_code: Mapped[str | None] = mapped_column(String(20), index=True)
    since: Mapped[dt.date] = mapped_column(Date)  # the date of the fact
    explanation: Mapped[str] = mapped_column(Text)
    contradicts_survey: Mapped[bool] = mapped_column(Boolean, default=False)  # outlier evidence
    state: Mapped[str] = mapped_column(
        String(20), index=True
    )  # pending confirmed resurvey dismissed appealed reversed
    raised_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    decided_by: Mapped[str | None] = mapped_column(String(80))
    decided_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    appeal_until: Mapped[dt.date | None] = mapped_column(Date)
    appeal_grounds: Mapped[str | None] = mapped_column(Text)
    state_before_appeal: Mapped[str | None] = mapped_column(String(20))
    first_applied_in: Mapped[str | None] = mapped_column(String(80))  # snapshot id
    last_applied_in: Mapped[str | None] = mapped_column(String(80))


class IntegrationEventStep(Base):
    """The history of an event: every review, appeal and reversal, who, when, why."""

    __tablename__ = "integration_event_steps"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("integration_events.id"), index=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    actor: Mapped[str] = mapped_column(String(80))
    action: Mapped[str] = mapped_column(String(30))
    from_state: Mapped[str | None] = mapped_column(String(20))
    to_state: Mapped[str] = mapped_column(String(20))
    comment: Mapped[str | None] = mapped_column(Text)


class PlaceNameCorrection(Base):
    """An Urdu place name set by the MIS team over the reference one (the latest row wins; all are kept)."""

    __tablename__ = "place_name_corrections"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(20), index=True)
    name_ur: Mapped[str] = mapped_column(String(120))
    previous: Mapped[str | None] = mapped_column(String(120))
    reason: Mapped[str] = mapped_column(Text)
    corrected_by: Mapped[str] = mapped_column(String(80))
    corrected_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
