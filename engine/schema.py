"""The feedback database's tables, as the code reads and writes them today.

The tables are created and changed only by the migrations in engine/migrations/ (one
revision per change, data kept); these definitions must match the newest revision
(tests/test_migrations.py checks that they do).
"""

from __future__ import annotations

from sqlalchemy import Boolean, Column, Float, Integer, MetaData, String, Table, Text, UniqueConstraint

metadata = MetaData()

questions = Table(
    "questions", metadata,
    Column("query_id", String(64), primary_key=True),
    Column("text", Text, nullable=False),
    Column("user", String(64), nullable=False, default=""),
    Column("channel", String(64), nullable=False, default=""),
    Column("thread_ts", String(32), nullable=False, default=""),
    Column("modality", String(16), nullable=False, default="text"),
    Column("created_at", Float, nullable=False, index=True),
)

shown = Table(
    "shown", metadata,
    Column("query_id", String(64), primary_key=True),
    Column("doc_id", String(512), primary_key=True),
    Column("rank", Integer, nullable=False),
    Column("score", Float, nullable=False),
    Column("ranked_by", String(128), nullable=False),
    Column("channel", String(64), nullable=False, default="", index=True),
    Column("message_ts", String(32), nullable=False, default="", index=True),
    Column("shown_at", Float, nullable=False),
)

votes = Table(
    "votes", metadata,
    Column("query_id", String(64), primary_key=True),
    Column("doc_id", String(512), primary_key=True),
    Column("user", String(64), primary_key=True),
    Column("value", Integer, nullable=False),
    Column("updated_at", Float, nullable=False, index=True),
)

handled_events = Table(
    "handled_events", metadata,
    Column("event_id", String(128), primary_key=True),
    Column("handled_at", Float, nullable=False),
)

leases = Table(
    "leases", metadata,
    Column("name", String(64), primary_key=True),
    Column("holder", String(128), nullable=False),
    Column("expires_at", Float, nullable=False),
)

training_pairs = Table(
    "training_pairs", metadata,
    Column("pair_id", Integer, primary_key=True, autoincrement=True),
    Column("source", String(16), nullable=False, index=True),
    Column("anchor", Text, nullable=False),
    Column("anchor_hash", String(40), nullable=False),
    Column("positive", String(512), nullable=False),
    Column("negatives", Text, nullable=False, default="[]"),
    Column("created_at", Float, nullable=False),
    UniqueConstraint("source", "anchor_hash", "positive", name="uq_training_pair"),
)

learning_cycles = Table(
    "learning_cycles", metadata,
    Column("cycle_id", String(64), primary_key=True),
    Column("trigger", String(32), nullable=False, default="manual"),
    Column("holder", String(160), nullable=False, default=""),
    Column("phase", String(32), nullable=False, default="collect"),
    Column("started_at", Float, nullable=False, index=True),
    Column("finished_at", Float, nullable=True),
    Column("decision", String(16), nullable=True),
    Column("reason", Text, nullable=True),
    Column("report", Text, nullable=True),
)

active_model = Table(
    "active_model", metadata,
    Column("slot", String(16), primary_key=True),
    Column("name", String(128), nullable=False),
    Column("updated_at", Float, nullable=False),
)

# -- the Slack surfaces' own state (engine/conversations.py) ----------------------------

right_page_asks = Table(
    "right_page_asks", metadata,
    Column("query_id", String(64), primary_key=True),
    Column("channel", String(64), nullable=False, index=True),
    Column("thread_ts", String(32), nullable=False, index=True),
    Column("asked_at", Float, nullable=False),
    Column("answered_by", String(64), nullable=False, default=""),
    Column("answered_doc", String(512), nullable=False, default=""),
)

indexed_channels = Table(
    "indexed_channels", metadata,
    Column("channel", String(64), primary_key=True),
    Column("private", Boolean, nullable=False, default=False),
    Column("added_by", String(64), nullable=False, default=""),
    Column("done_until", String(32), nullable=False, default=""),
    Column("running_until", String(32), nullable=False, default=""),
    Column("last_run_at", Float, nullable=False, default=0.0),
)
