"""axis outbox: packages of documents sent to organs outside the province, for the national axis

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-05 22:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import lgsp_kit.db

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "axis_outbox",
        sa.Column("document_id", sa.String(length=36), nullable=False),
        sa.Column("organs", sa.String(length=2000), nullable=False),
        sa.Column("queued_at", lgsp_kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("taken_at", lgsp_kit.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["document_id"], ["document.id"], name=op.f("fk_axis_outbox_document_id_document")
        ),
        sa.PrimaryKeyConstraint("document_id", name=op.f("pk_axis_outbox")),
    )
    op.create_index(op.f("ix_axis_outbox_queued_at"), "axis_outbox", ["queued_at"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_axis_outbox_queued_at"), table_name="axis_outbox")
    op.drop_table("axis_outbox")
