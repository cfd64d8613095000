"""Data requests from the web form, their route, timeline and decision.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "data_requests",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("reference", sa.String(40), nullable=False, unique=True),
        sa.Column("status_key_hash", sa.String(64), nullable=False),
        sa.Column("organisation_name", sa.String(200), nullable=False),
        sa.Column("organisation_type", sa.String(40), nullable=False),
        sa.Column("address", sa.String(400), nullable=False),
        sa.Column("registration_body", sa.String(200)),
        sa.Column("registration_number", sa.String(100)),
        sa.Column("focal_person", sa.String(200), nullable=False),
        sa.Column("email", sa.String(200), nullable=False),
        sa.Column("phone", sa.String(40), nullable=False),
        sa.Column("purpose", sa.Text, nullable=False),
        sa.Column("intended_use", sa.Text, nullable=False),
        sa.Column("data_type", sa.String(40), nullable=False),
        sa.Column("granularity", sa.Text, nullable=False),
        sa.Column("frequency", sa.String(20), nullable=False),
        sa.Column("report_slug", sa.String(80)),
        sa.Column("forum", sa.String(40), nullable=False, index=True),
        sa.Column("route_reason", sa.Text, nullable=False),
        sa.Column("service", sa.String(80), nullable=False),
        sa.Column("due_on", sa.Date, nullable=False),
        sa.Column("state", sa.String(20), nullable=False, index=True),
        sa.Column("decided_by", sa.Integer, sa.ForeignKey("users.id")),
        sa.Column("decided_at", sa.DateTime(timezone=True)),
        sa.Column("comment", sa.Text),
        sa.Column("nda_signed", sa.Boolean, nullable=False),
        sa.Column("provisioned", sa.JSON),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("data_requests")
