"""processing unit of a procedure's time limit; supplement requests; on-time by the 766 rules

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-06 00:30:00.000000

Existing rows keep the unit they were counted in (working days). The stored verdicts are brought
to the 766 rules (`services/dossier/dossiers/ontime.py`): a dossier never received has none; a
withdrawal (7) ends handling; more than one supplement request is late; a dossier waiting for a
supplement is judged at the request time.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _unit() -> sa.Column[str]:
    return sa.Column("processing_unit", sa.String(16), server_default="working_day", nullable=False)


def upgrade() -> None:
    with op.batch_alter_table("procedure", schema=None) as batch_op:
        batch_op.add_column(_unit())
    with op.batch_alter_table("dossier", schema=None) as batch_op:
        batch_op.add_column(_unit())
        batch_op.add_column(
            sa.Column("supplement_requests", sa.Integer(), server_default="0", nullable=False)
        )
    op.execute(
        "UPDATE dossier SET supplement_requests = (SELECT count(*) FROM dossier_history h "
        "WHERE h.dossier_id = dossier.id AND h.to_status = 5)"
    )
    # Never received (refused at reception, or withdrawn before): no verdict.
    op.execute("UPDATE dossier SET on_time = NULL WHERE received_at IS NULL")
    # Withdrawn after reception: its withdrawal (the last change) ended handling.
    op.execute(
        "UPDATE dossier SET on_time = (last_changed_at <= due_at) "
        "WHERE status = 7 AND received_at IS NOT NULL AND on_time IS NULL"
    )
    # Waiting for a supplement: judged at the request time.
    op.execute(
        "UPDATE dossier SET on_time = (paused_since <= due_at) "
        "WHERE status = 5 AND received_at IS NOT NULL"
    )
    # More than one supplement request: late.
    op.execute(
        "UPDATE dossier SET on_time = false "
        "WHERE supplement_requests > 1 AND received_at IS NOT NULL"
    )


def downgrade() -> None:
    with op.batch_alter_table("dossier", schema=None) as batch_op:
        batch_op.drop_column("supplement_requests")
        batch_op.drop_column("processing_unit")
    with op.batch_alter_table("procedure", schema=None) as batch_op:
        batch_op.drop_column("processing_unit")
