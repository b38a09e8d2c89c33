"""Run leases: one row per schedule being run, kept alive by its instance's heartbeat.

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "pstt_leases",
        sa.Column("schedule_id", sa.String(200), primary_key=True),
        sa.Column("export_id", sa.String(64), nullable=False),
        sa.Column("instance", sa.String(200), nullable=False),
        sa.Column("heartbeat_ts", sa.Float, nullable=False),
        sa.Column("expires_ts", sa.Float, nullable=False),
        sa.Column("record", sa.Text, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("pstt_leases")
