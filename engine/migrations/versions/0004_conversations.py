"""Tables of the Slack surfaces (engine/conversations.py): the "right page?" asks and
the channels Argot indexes. Created only if missing: processes of the version that
made them on start-up may have done so already.

Revision ID: 0004
"""

from __future__ import annotations

from alembic import op
from sqlalchemy import Boolean, Column, Float, MetaData, String, Table

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

tables = MetaData()

Table("right_page_asks", tables,
      Column("query_id", String(64), primary_key=True),
      Column("channel", String(64), nullable=False, index=True),
      Column("thread_ts", String(32), nullable=False, index=True),
      Column("asked_at", Float, nullable=False),
      Column("answered_by", String(64), nullable=False),
      Column("answered_doc", String(512), nullable=False))
Table("indexed_channels", tables,
      Column("channel", String(64), primary_key=True),
      Column("private", Boolean, nullable=False),
      Column("added_by", String(64), nullable=False),
      Column("done_until", String(32), nullable=False),
      Column("running_until", String(32), nullable=False),
      Column("last_run_at", Float, nullable=False))


def upgrade() -> None:
    tables.create_all(op.get_bind(), checkfirst=True)


def downgrade() -> None:
    tables.drop_all(op.get_bind())
