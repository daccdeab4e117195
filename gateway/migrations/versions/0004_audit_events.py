"""audit events: target and reason on audit records (the gateway's /token and /admin events)

Both columns are null on proxied calls, whose hash (version 1) is unchanged: records already in
the chain stay valid.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27 08:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("audit_record", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("target", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=True)
        )
        batch_op.add_column(
            sa.Column("reason", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("audit_record", schema=None) as batch_op:
        batch_op.drop_column("reason")
        batch_op.drop_column("target")
