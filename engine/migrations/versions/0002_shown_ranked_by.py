"""`shown.model_version` becomes `shown.ranked_by`: one word per concept (issue 11).

The column holds the model that ranked an answer: the text model's registry name
("base", "ft0003") or the CLIP model's id for an image question. Every row is kept.

Revision ID: 0002
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("shown") as table:
        table.alter_column("model_version", new_column_name="ranked_by")


def downgrade() -> None:
    with op.batch_alter_table("shown") as table:
        table.alter_column("ranked_by", new_column_name="model_version")
