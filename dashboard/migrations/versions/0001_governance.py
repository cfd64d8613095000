"""Governance: organisations, users, login attempts, access log with its chain head, rates, ledger, quotas.

Revision ID: 0001
Revises:
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "organisations",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("name", sa.String(200), nullable=False, unique=True),
        sa.Column("org_type", sa.String(40), nullable=False),
        sa.Column("registration_body", sa.String(200)),
        sa.Column("registration_number", sa.String(100)),
        sa.Column("address", sa.String(400)),
        sa.Column("gratis", sa.String(40)),
        sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()),
        sa.Column("created_at", TS, nullable=False),
    )
    op.create_table(
        "users",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("username", sa.String(80), nullable=False, unique=True),
        sa.Column("full_name", sa.String(200), nullable=False),
        sa.Column("designation", sa.String(200)),
        sa.Column("organisation_id", sa.Integer, sa.ForeignKey("organisations.id"), nullable=False),
        sa.Column("location", sa.String(40)),
        sa.Column("tier", sa.String(20), nullable=False),
        sa.Column("record_role", sa.String(20), nullable=False),
        sa.Column("duties", sa.JSON, nullable=False),
        sa.Column("scope", sa.String(40)),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("password_hash", sa.String(200), nullable=False),
        sa.Column("must_change_password", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("failed_logins", sa.Integer, nullable=False, server_default="0"),
        sa.Column("locked_until", TS),
        sa.Column("last_login_at", TS),
        sa.Column("created_at", TS, nullable=False),
    )
    op.create_table(
        "login_attempts",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("username", sa.String(80), nullable=False),
        sa.Column("ip", sa.String(64)),
        sa.Column("success", sa.Boolean, nullable=False),
        sa.Column("at", TS, nullable=False, index=True),
    )
    op.create_table(
        "audit_head",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("seq", sa.BigInteger, nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
    )
    op.bulk_insert(
        sa.table("audit_head", sa.column("id"), sa.column("seq"), sa.column("hash")),
        [{"id": 1, "seq": 0, "hash": "0" * 64}],
    )
    op.create_table(
        "audit_log",
        sa.Column("seq", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("at", TS, nullable=False, index=True),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("outcome", sa.String(20), nullable=False),
        sa.Column("ip", sa.String(64)),
        sa.Column("user_id", sa.Integer),
        sa.Column("username", sa.String(80)),
        sa.Column("organisation", sa.String(200)),
        sa.Column("tier", sa.String(20)),
        sa.Column("action", sa.String(80)),
        sa.Column("parameters", sa.Text),
        sa.Column("rows", sa.Integer, nullable=False, server_default="0"),
        sa.Column("cells", sa.Integer, nullable=False, server_default="0"),
        sa.Column("reason", sa.Text),
        sa.Column("snapshot_id", sa.String(80)),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
    )
    op.create_table(
        "rates",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("service", sa.String(40), nullable=False),
        sa.Column("client_type", sa.String(20), nullable=False),
        sa.Column("rate", sa.Float, nullable=False),
        sa.Column("valid_from", TS, nullable=False),
        sa.Column("set_by", sa.String(80)),
    )
    op.create_table(
        "ledger",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("at", TS, nullable=False, index=True),
        sa.Column("user_id", sa.Integer, index=True),
        sa.Column("username", sa.String(80)),
        sa.Column("organisation_id", sa.Integer, index=True),
        sa.Column("organisation", sa.String(200)),
        sa.Column("service", sa.String(40), nullable=False),
        sa.Column("units", sa.Integer, nullable=False),
        sa.Column("rate", sa.Float, nullable=False),
        sa.Column("amount", sa.Float, nullable=False),
        sa.Column("gratis", sa.String(40)),
        sa.Column("audit_seq", sa.BigInteger),
    )
    op.create_table(
        "quotas",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("subject", sa.String(20), nullable=False),
        sa.Column("subject_id", sa.Integer, nullable=False),
        sa.Column("metric", sa.String(20), nullable=False),
        sa.Column("per_day", sa.Integer, nullable=False),
        sa.UniqueConstraint("subject", "subject_id", "metric"),
    )


def downgrade() -> None:
    for table in (
        "quotas",
        "ledger",
        "rates",
        "audit_log",
        "audit_head",
        "login_attempts",
        "users",
        "organisations",
    ):
        op.drop_table(table)
