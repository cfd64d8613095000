"""Users provisioned from a data request have access until a date.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("access_until", sa.Date))


def downgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.drop_column("access_until")
