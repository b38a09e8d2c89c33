"""Schedules and watermarks shared by every instance (core documents with a version), and
the scheduler processes' heartbeats.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("pstt_documents") as batch:
        batch.add_column(sa.Column("version", sa.BigInteger, nullable=False,
                                   server_default="0"))
    op.create_table(
        "pstt_instances",
        sa.Column("process", sa.String(260), primary_key=True),
        sa.Column("instance", sa.String(200), nullable=False),
        sa.Column("pid", sa.Integer, nullable=False),
        sa.Column("started_at", sa.String(40), nullable=False),
        sa.Column("heartbeat_ts", sa.Float, nullable=False),
        sa.Column("stopped_ts", sa.Float, nullable=True),
        sa.Column("version", sa.String(40), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("pstt_instances")
    with op.batch_alter_table("pstt_documents") as batch:
        batch.drop_column("version")
