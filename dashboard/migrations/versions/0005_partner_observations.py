"""Records partners post back through the API, staged for MIS.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "partner_observations",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("client_id", sa.String(64), nullable=False, index=True),
        sa.Column("organisation_id", sa.Integer, sa.ForeignKey("organisations.id"), nullable=False),
        sa.Column("type", sa.String(40), nullable=False, index=True),
        sa.Column("cnic", sa.String(13), nullable=False),
        sa.Column("member_id", sa.BigInteger, nullable=False),
        sa.Column("household_id", sa.BigInteger, nullable=False, index=True),
        sa.Column("payload", sa.JSON, nullable=False),
        sa.Column("snapshot_id", sa.String(80)),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("partner_observations")
