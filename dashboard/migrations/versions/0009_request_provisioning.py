"""Data requests: delivery channel, the signed NDA kept as uploaded, credentials collected once, API
clients whose access ends on a date, and the outbox of notifications.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("data_requests") as batch:
        batch.add_column(sa.Column("channel", sa.String(10), nullable=False, server_default="portal"))
        batch.add_column(sa.Column("callback_url", sa.String(400)))
        batch.add_column(sa.Column("credentials_collected_at", sa.DateTime(timezone=True)))
    with op.batch_alter_table("api_clients") as batch:
        batch.add_column(sa.Column("access_until", sa.Date))
    op.create_table(
        "request_documents",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("request_id", sa.Integer, sa.ForeignKey("data_requests.id"), nullable=False, index=True),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("filename", sa.String(200), nullable=False),
        sa.Column("media_type", sa.String(80), nullable=False),
        sa.Column("size", sa.Integer, nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("content", sa.LargeBinary, nullable=False),
        sa.Column("uploaded_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "notifications",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("to_address", sa.String(200), nullable=False),
        sa.Column("subject", sa.String(300), nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("reference", sa.String(40), index=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), index=True),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("last_error", sa.Text),
    )


def downgrade() -> None:
    op.drop_table("notifications")
    op.drop_table("request_documents")
    with op.batch_alter_table("api_clients") as batch:
        batch.drop_column("access_until")
    with op.batch_alter_table("data_requests") as batch:
        batch.drop_column("credentials_collected_at")
        batch.drop_column("callback_url")
        batch.drop_column("channel")
