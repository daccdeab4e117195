"""dossiers DVCQG holds and the DVCQG sync's backlog

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06 03:40:00

Filled from `lgsp.dossier.dvcqg_accepted` and `lgsp.dossier.dvcqg_backlog`; dossiers synced
before the upgrade are counted once their events are replayed (`python -m
services.reporting.rebuild`).
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import lgsp_kit.db

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "dvcqg_dossier",
        sa.Column("code", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("organ_level", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("organ_code", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("received_day", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=True),
        sa.Column("accepted_at", lgsp_kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_dvcqg_dossier")),
    )
    with op.batch_alter_table("dvcqg_dossier", schema=None) as batch_op:
        batch_op.create_index("ix_dvcqg_dossier_received_day", ["received_day"], unique=False)
        batch_op.create_index(
            "ix_dvcqg_dossier_organ_day", ["organ_code", "received_day"], unique=False
        )
    op.create_table(
        "dvcqg_backlog",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", lgsp_kit.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("pending", sa.Integer(), nullable=False),
        sa.Column("refused", sa.Integer(), nullable=False),
        sa.Column("oldest_change_at", lgsp_kit.db.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dvcqg_backlog")),
    )


def downgrade() -> None:
    op.drop_table("dvcqg_backlog")
    with op.batch_alter_table("dvcqg_dossier", schema=None) as batch_op:
        batch_op.drop_index("ix_dvcqg_dossier_organ_day")
        batch_op.drop_index("ix_dvcqg_dossier_received_day")
    op.drop_table("dvcqg_dossier")
