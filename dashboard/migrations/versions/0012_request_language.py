"""The language a data request was made in: the requester's mails are written in it.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("data_requests") as batch:
        batch.add_column(sa.Column("language", sa.String(5), nullable=False, server_default="en"))


def downgrade() -> None:
    with op.batch_alter_table("data_requests") as batch:
        batch.drop_column("language")
