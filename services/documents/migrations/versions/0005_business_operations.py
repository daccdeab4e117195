"""business operations: a document revoked, updated or replaced, and the link between the two

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-05 04:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("document") as batch:
        batch.add_column(sa.Column("business_state", sa.String(length=8), nullable=True))
        batch.add_column(sa.Column("supersedes", sa.String(length=36), nullable=True))
        batch.add_column(sa.Column("superseded_by", sa.String(length=36), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("document") as batch:
        batch.drop_column("superseded_by")
        batch.drop_column("supersedes")
        batch.drop_column("business_state")
