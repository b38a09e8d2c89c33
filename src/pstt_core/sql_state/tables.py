"""The tables of the SQL state backend (SQLAlchemy Core). Created and changed only by the
Alembic migrations beside this module (``pstt state upgrade``); a change here needs one."""

from __future__ import annotations

import sqlalchemy as sa

metadata = sa.MetaData()

# One row per run record; ``record`` holds the whole record as JSON (sink fields included),
# the other columns what queries filter, order and count on.
runs = sa.Table(
    "pstt_runs", metadata,
    sa.Column("seq", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("export_id", sa.String(64), nullable=False, unique=True),
    sa.Column("schedule_id", sa.String(200), nullable=False),
    sa.Column("sharing_mode", sa.String(100), nullable=False),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("started_at", sa.String(40), nullable=False),
    sa.Column("started_ts", sa.Float, nullable=True),
    sa.Column("scheduled_at", sa.String(40), nullable=True),
    sa.Column("instance", sa.String(200), nullable=True),
    sa.Column("rows", sa.BigInteger, nullable=False, default=0),
    sa.Column("duration_sec", sa.Float, nullable=True),
    sa.Column("record", sa.Text, nullable=False),
    sa.Index("ix_pstt_runs_schedule", "schedule_id", "seq"),
    sa.Index("ix_pstt_runs_status", "status", "seq"),
)

# One JSON document per plugin (``env.state``), and the core's schedules and watermarks under
# ``pstt:`` keys; ``version`` grows with each save of a core document (instances poll it).
documents = sa.Table(
    "pstt_documents", metadata,
    sa.Column("plugin", sa.String(200), primary_key=True),
    sa.Column("document", sa.Text, nullable=False),
    sa.Column("updated_at", sa.String(40), nullable=False),
    sa.Column("version", sa.BigInteger, nullable=False, server_default="0"),
)

# One row per claimed fire: the primary key makes the claim atomic.
claims = sa.Table(
    "pstt_claims", metadata,
    sa.Column("schedule_id", sa.String(200), primary_key=True),
    sa.Column("scheduled_at", sa.String(40), primary_key=True),
    sa.Column("instance", sa.String(200), nullable=False),
    sa.Column("claimed_ts", sa.Float, nullable=False),
)

# One row per schedule being run by some instance: the run lease. ``expires_ts`` is pushed
# forward by the holder's heartbeat; a lease past it belongs to a lost instance.
leases = sa.Table(
    "pstt_leases", metadata,
    sa.Column("schedule_id", sa.String(200), primary_key=True),
    sa.Column("export_id", sa.String(64), nullable=False),
    sa.Column("instance", sa.String(200), nullable=False),
    sa.Column("heartbeat_ts", sa.Float, nullable=False),
    sa.Column("expires_ts", sa.Float, nullable=False),
    sa.Column("record", sa.Text, nullable=False),
)

# One row per scheduler process (``<instance>#<pid>``): its heartbeat says it is alive; the
# last one seen bounds the fires that no instance was running for.
instances = sa.Table(
    "pstt_instances", metadata,
    sa.Column("process", sa.String(260), primary_key=True),
    sa.Column("instance", sa.String(200), nullable=False),
    sa.Column("pid", sa.Integer, nullable=False),
    sa.Column("started_at", sa.String(40), nullable=False),
    sa.Column("heartbeat_ts", sa.Float, nullable=False),
    sa.Column("stopped_ts", sa.Float, nullable=True),
    sa.Column("version", sa.String(40), nullable=False),
)
