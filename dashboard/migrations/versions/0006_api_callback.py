"""The one address an API client's asynchronous answers may be sent to.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-27
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("api_clients") as batch:
        batch.add_column(sa.Column("callback_url", sa.String(400)))


def downgrade() -> None:
    with op.batch_alter_table("api_clients") as batch:
        batch.drop_column("callback_url")
