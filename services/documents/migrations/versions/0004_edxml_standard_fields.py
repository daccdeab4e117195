"""edXML standard fields of an imported document: DocumentType numbers, signature algorithm

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-05 04:40:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("document") as batch:
        batch.add_column(sa.Column("verification", sa.String(length=12), nullable=True))
        batch.add_column(sa.Column("signature_algorithm", sa.String(length=32), nullable=True))
        batch.add_column(sa.Column("edxml_type", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("edxml_type_detail", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("edxml_type_name", sa.String(length=200), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("document") as batch:
        batch.drop_column("edxml_type_name")
        batch.drop_column("edxml_type_detail")
        batch.drop_column("edxml_type")
        batch.drop_column("signature_algorithm")
        batch.drop_column("verification")
