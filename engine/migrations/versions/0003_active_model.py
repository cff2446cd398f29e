"""`active_model`: the registry name of the version that answers, one row that every
process reads (engine/activemodel.py), instead of a file on one machine.

Revision ID: 0003
"""

from __future__ import annotations

from alembic import op
from sqlalchemy import Column, Float, String

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table("active_model",
                    Column("slot", String(16), primary_key=True),
                    Column("name", String(128), nullable=False),
                    Column("updated_at", Float, nullable=False))


def downgrade() -> None:
    op.drop_table("active_model")
