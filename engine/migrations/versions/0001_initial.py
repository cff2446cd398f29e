"""The schema as Argot created it before migrations (commit 1bbdd58), frozen here.

Each table is created only if it is missing, so a database made by that code is
brought under migrations unchanged, with every row kept.

Revision ID: 0001
"""

from __future__ import annotations

from alembic import op
from sqlalchemy import (
    Column,
    Float,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    Unicode,
    UniqueConstraint,
)

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

schema = MetaData()

Table("questions", schema,
      Column("query_id", String(64), primary_key=True),
      Column("text", Text, nullable=False),
      Column("user", String(64), nullable=False),
      Column("channel", String(64), nullable=False),
      Column("thread_ts", String(32), nullable=False),
      Column("modality", String(16), nullable=False),
      Column("created_at", Float, nullable=False, index=True))
Table("shown", schema,
      Column("query_id", String(64), primary_key=True),
      Column("doc_id", String(512), primary_key=True),
      Column("rank", Integer, nullable=False),
      Column("score", Float, nullable=False),
      Column("model_version", String(128), nullable=False),
      Column("channel", String(64), nullable=False, index=True),
      Column("message_ts", String(32), nullable=False, index=True),
      Column("shown_at", Float, nullable=False))
Table("votes", schema,
      Column("query_id", String(64), primary_key=True),
      Column("doc_id", String(512), primary_key=True),
      Column("user", String(64), primary_key=True),
      Column("value", Integer, nullable=False),
      Column("updated_at", Float, nullable=False, index=True))
Table("handled_events", schema,
      Column("event_id", String(128), primary_key=True),
      Column("handled_at", Float, nullable=False))
Table("leases", schema,
      Column("name", String(64), primary_key=True),
      Column("holder", String(128), nullable=False),
      Column("expires_at", Float, nullable=False))
Table("training_pairs", schema,
      Column("pair_id", Integer, primary_key=True, autoincrement=True),
      Column("source", String(16), nullable=False, index=True),
      Column("anchor", Text, nullable=False),
      Column("anchor_hash", String(40), nullable=False),
      Column("positive", String(512), nullable=False),
      Column("negatives", Text, nullable=False),
      Column("created_at", Float, nullable=False),
      UniqueConstraint("source", "anchor_hash", "positive", name="uq_training_pair"))
Table("learning_cycles", schema,
      Column("cycle_id", String(64), primary_key=True),
      Column("trigger", String(32), nullable=False),
      Column("holder", String(160), nullable=False),
      Column("phase", String(32), nullable=False),
      Column("started_at", Float, nullable=False, index=True),
      Column("finished_at", Float, nullable=True),
      Column("decision", String(16), nullable=True),
      Column("reason", Text, nullable=True),
      Column("report", Text, nullable=True))
# APScheduler's job store (jobs/scheduler.py); created here so that two processes starting
# together do not both create it.
Table("argot_scheduled_jobs", schema,
      Column("id", Unicode(191), primary_key=True),
      Column("next_run_time", Float(25), index=True),
      Column("job_state", LargeBinary, nullable=False))


def upgrade() -> None:
    schema.create_all(op.get_bind(), checkfirst=True)


def downgrade() -> None:
    schema.drop_all(op.get_bind())
