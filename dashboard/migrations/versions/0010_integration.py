"""Integration feeds: batches, matched records with their evidence, events and their history.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "integration_batches",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("feed", sa.String(40), nullable=False, index=True),
        sa.Column("origin", sa.String(300), nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("rows", sa.Integer, nullable=False),
        sa.Column("matched", sa.Integer, nullable=False),
        sa.Column("unmatched", sa.Integer, nullable=False),
        sa.Column("ambiguous", sa.Integer, nullable=False),
        sa.Column("duplicates", sa.Integer, nullable=False),
        sa.Column("events", sa.Integer, nullable=False),
        sa.Column("snapshot_id", sa.String(80)),
        sa.Column("loaded_by", sa.String(80), nullable=False),
        sa.Column("loaded_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("feed", "sha256", name="uq_integration_batch_content"),
    )
    op.create_table(
        "integration_records",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "batch_id", sa.Integer, sa.ForeignKey("integration_batches.id"), nullable=False, index=True
        ),
        sa.Column("line", sa.Integer, nullable=False),
        sa.Column("cnic", sa.String(13), index=True),
        sa.Column("area_code", sa.String(20)),
        sa.Column("payload", sa.JSON, nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("reason", sa.Text),
        sa.Column("member_id", sa.BigInteger),
        sa.Column("household_id", sa.BigInteger, index=True),
        sa.Column("evidence", sa.JSON),
    )
    op.create_table(
        "integration_events",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column(
            "record_id", sa.Integer, sa.ForeignKey("integration_records.id"), nullable=False, index=True
        ),
        sa.Column(
            "batch_id", sa.Integer, sa.ForeignKey("integration_batches.id"), nullable=False, index=True
        ),
        sa.Column("feed", sa.String(40), nullable=False, index=True),
        sa.Column("rule", sa.String(60), nullable=False),
        sa.Column("effect", sa.String(20), nullable=False),
        sa.Column("code", sa.String(40)),
        sa.Column("fact_key", sa.String(64), nullable=False, unique=True),
        sa.Column("cnic", sa.String(13), index=True),
        sa.Column("area_code", sa.String(20)),
        sa.Column("member_id", sa.BigInteger),
        sa.Column("household_id", sa.BigInteger, index=True),
        sa.Column("district_code", sa.String(20), index=True),
        sa.Column("since", sa.Date, nullable=False),
        sa.Column("explanation", sa.Text, nullable=False),
        sa.Column("contradicts_survey", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("state", sa.String(20), nullable=False, index=True),
        sa.Column("raised_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_by", sa.String(80)),
        sa.Column("decided_at", sa.DateTime(timezone=True)),
        sa.Column("appeal_until", sa.Date),
        sa.Column("appeal_grounds", sa.Text),
        sa.Column("state_before_appeal", sa.String(20)),
        sa.Column("first_applied_in", sa.String(80)),
        sa.Column("last_applied_in", sa.String(80)),
    )
    op.create_table(
        "integration_event_steps",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("event_id", sa.Integer, sa.ForeignKey("integration_events.id"), nullable=False, index=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(80), nullable=False),
        sa.Column("action", sa.String(30), nullable=False),
        sa.Column("from_state", sa.String(20)),
        sa.Column("to_state", sa.String(20), nullable=False),
        sa.Column("comment", sa.Text),
    )


def downgrade() -> None:
    op.drop_table("integration_event_steps")
    op.drop_table("integration_events")
    op.drop_table("integration_records")
    op.drop_table("integration_batches")
