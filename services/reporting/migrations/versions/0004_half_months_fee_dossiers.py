"""procedures by half-month with online payments; fee-bearing dossiers for TT.1

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02 09:00:00

`procedure_half_month` replaces `procedure_reception_month`: a month's counts are kept on its
first half, so calendar periods (whole months) read the same figures as before; periods on the
Decree 09 basis and the online-payment counts need the events again (`python -m
services.reporting.rebuild`). `fee_dossier` replaces `resolution_day`, whose counts cannot say
which dossier a later payment belongs to: TT.1 of the time before the upgrade needs the rebuild.
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
    op.create_table(
        "procedure_half_month",
        sa.Column("half_start", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=False),
        sa.Column("organ_level", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("organ_code", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("procedure_code", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("received", sa.Integer(), nullable=False),
        sa.Column("online", sa.Integer(), nullable=False),
        sa.Column("online_payments", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint(
            "half_start",
            "organ_level",
            "organ_code",
            "procedure_code",
            name=op.f("pk_procedure_half_month"),
        ),
    )
    with op.batch_alter_table("procedure_half_month", schema=None) as batch_op:
        batch_op.create_index(
            "ix_procedure_half_month_organ_half", ["organ_code", "half_start"], unique=False
        )
    op.execute(
        "INSERT INTO procedure_half_month (half_start, organ_level, organ_code, procedure_code, "
        "received, online, online_payments) "
        "SELECT month || '-01', organ_level, organ_code, procedure_code, received, online, 0 "
        "FROM procedure_reception_month"
    )
    with op.batch_alter_table("procedure_reception_month", schema=None) as batch_op:
        batch_op.drop_index("ix_procedure_reception_month_organ_month")
    op.drop_table("procedure_reception_month")

    op.create_table(
        "fee_dossier",
        sa.Column("code", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("organ_level", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("organ_code", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("procedure_code", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("resolved_day", sqlmodel.sql.sqltypes.AutoString(length=10), nullable=True),
        sa.Column("fee_paid", sa.Boolean(), nullable=False),
        sa.Column("paid_online", sa.Boolean(), nullable=False),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_fee_dossier")),
    )
    with op.batch_alter_table("fee_dossier", schema=None) as batch_op:
        batch_op.create_index("ix_fee_dossier_resolved_day", ["resolved_day"], unique=False)
        batch_op.create_index(batch_op.f("ix_fee_dossier_organ_code"), ["organ_code"], unique=False)
    with op.batch_alter_table("resolution_day", schema=None) as batch_op:
        batch_op.drop_index("ix_resolution_day_organ_day")
    op.drop_table("resolution_day")


def downgrade() -> None:
    op.create_table(
        "resolution_day",
        sa.Column("day", sa.VARCHAR(length=10), nullable=False),
        sa.Column("organ_level", sa.VARCHAR(length=16), nullable=False),
        sa.Column("organ_code", sa.VARCHAR(length=32), nullable=False),
        sa.Column("resolved_fee_bearing", sa.INTEGER(), nullable=False),
        sa.Column("paid_online", sa.INTEGER(), nullable=False),
        sa.PrimaryKeyConstraint("day", "organ_level", "organ_code", name=op.f("pk_resolution_day")),
    )
    with op.batch_alter_table("resolution_day", schema=None) as batch_op:
        batch_op.create_index("ix_resolution_day_organ_day", ["organ_code", "day"], unique=False)
    with op.batch_alter_table("fee_dossier", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_fee_dossier_organ_code"))
        batch_op.drop_index("ix_fee_dossier_resolved_day")
    op.drop_table("fee_dossier")

    op.create_table(
        "procedure_reception_month",
        sa.Column("month", sa.VARCHAR(length=7), nullable=False),
        sa.Column("organ_level", sa.VARCHAR(length=16), nullable=False),
        sa.Column("organ_code", sa.VARCHAR(length=32), nullable=False),
        sa.Column("procedure_code", sa.VARCHAR(length=64), nullable=False),
        sa.Column("received", sa.INTEGER(), nullable=False),
        sa.Column("online", sa.INTEGER(), nullable=False),
        sa.PrimaryKeyConstraint(
            "month",
            "organ_level",
            "organ_code",
            "procedure_code",
            name=op.f("pk_procedure_reception_month"),
        ),
    )
    with op.batch_alter_table("procedure_reception_month", schema=None) as batch_op:
        batch_op.create_index(
            "ix_procedure_reception_month_organ_month", ["organ_code", "month"], unique=False
        )
    op.execute(
        "INSERT INTO procedure_reception_month "
        "(month, organ_level, organ_code, procedure_code, received, online) "
        "SELECT substr(half_start, 1, 7), organ_level, organ_code, procedure_code, "
        "sum(received), sum(online) FROM procedure_half_month "
        "GROUP BY substr(half_start, 1, 7), organ_level, organ_code, procedure_code"
    )
    with op.batch_alter_table("procedure_half_month", schema=None) as batch_op:
        batch_op.drop_index("ix_procedure_half_month_organ_half")
    op.drop_table("procedure_half_month")
