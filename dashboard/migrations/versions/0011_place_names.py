"""Urdu place names corrected by the MIS team.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "place_name_corrections",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("code", sa.String(20), nullable=False, index=True),
        sa.Column("name_ur", sa.String(120), nullable=False),
        sa.Column("previous", sa.String(120)),
        sa.Column("reason", sa.Text, nullable=False),
        sa.Column("corrected_by", sa.String(80), nullable=False),
        sa.Column("corrected_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("place_name_corrections")
