"""The first schema: run records, plugin documents, fire claims.

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "pstt_runs",
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("export_id", sa.String(64), nullable=False, unique=True),
        sa.Column("schedule_id", sa.String(200), nullable=False),
        sa.Column("sharing_mode", sa.String(100), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("started_at", sa.String(40), nullable=False),
        sa.Column("started_ts", sa.Float, nullable=True),
        sa.Column("scheduled_at", sa.String(40), nullable=True),
        sa.Column("instance", sa.String(200), nullable=True),
        sa.Column("rows", sa.BigInteger, nullable=False),
        sa.Column("duration_sec", sa.Float, nullable=True),
        sa.Column("record", sa.Text, nullable=False),
    )
    op.create_index("ix_pstt_runs_schedule", "pstt_runs", ["schedule_id", "seq"])
    op.create_index("ix_pstt_runs_status", "pstt_runs", ["status", "seq"])
    op.create_table(
        "pstt_documents",
        sa.Column("plugin", sa.String(200), primary_key=True),
        sa.Column("document", sa.Text, nullable=False),
        sa.Column("updated_at", sa.String(40), nullable=False),
    )
    op.create_table(
        "pstt_claims",
        sa.Column("schedule_id", sa.String(200), primary_key=True),
        sa.Column("scheduled_at", sa.String(40), primary_key=True),
        sa.Column("instance", sa.String(200), nullable=False),
        sa.Column("claimed_ts", sa.Float, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("pstt_claims")
    op.drop_table("pstt_documents")
    op.drop_table("pstt_runs")
