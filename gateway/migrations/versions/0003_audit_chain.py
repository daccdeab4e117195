"""audit chain: seq, prev_hash and hash on every audit record, and the chain head

Records already in the table are chained here, in id order (their arrival order), so the
chain covers the whole log from its first record. This reads and updates them 1,000 at a
time: its time grows with the table's size.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26 09:49:04.409956
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import lgsp_kit.db
from gateway.audit.chain import FIELDS, GENESIS, link

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

PAGE = 1000
# The audit_record columns as revision 0002 made them, typed as the model reads them.
RECORDS = sa.table(
    "audit_record",
    sa.column("id", sa.Integer()),
    sa.column("at", lgsp_kit.db.UTCDateTime()),
    *(sa.column(name, sa.String()) for name in FIELDS[1:8]),
    sa.column("status", sa.Integer()),
    sa.column("request_bytes", sa.Integer()),
    sa.column("response_bytes", sa.Integer()),
    sa.column("upstream_ms", sa.Float()),
    sa.column("total_ms", sa.Float()),
)


def _chain_existing_records() -> tuple[int, str]:
    conn = op.get_bind()
    query = sa.select(RECORDS.c.id, *(RECORDS.c[n] for n in FIELDS)).order_by(RECORDS.c.id)
    update = sa.text(
        "UPDATE audit_record SET seq = :seq, prev_hash = :prev, hash = :hash WHERE id = :id"
    )
    seq, prev, last_id = 0, GENESIS, 0
    while True:
        rows = conn.execute(query.where(RECORDS.c.id > last_id).limit(PAGE)).all()
        if not rows:
            return seq, prev
        changes = []
        for rid, *fields in rows:
            seq += 1
            digest = link(seq, fields, prev)
            changes.append({"seq": seq, "prev": prev, "hash": digest, "id": rid})
            prev, last_id = digest, rid
        conn.execute(update, changes)


def upgrade() -> None:
    op.create_table(
        "audit_chain_head",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_chain_head")),
    )
    with op.batch_alter_table("audit_record", schema=None) as batch_op:
        batch_op.add_column(sa.Column("seq", sa.BigInteger(), nullable=True))
        batch_op.add_column(
            sa.Column("prev_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True)
        )
        batch_op.add_column(
            sa.Column("hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True)
        )
    seq, head = _chain_existing_records()
    op.execute(
        sa.text("INSERT INTO audit_chain_head (id, seq, hash) VALUES (1, :seq, :hash)").bindparams(
            seq=seq, hash=head
        )
    )
    with op.batch_alter_table("audit_record", schema=None) as batch_op:
        batch_op.alter_column("seq", existing_type=sa.BigInteger(), nullable=False)
        batch_op.alter_column(
            "prev_hash", existing_type=sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False
        )
        batch_op.alter_column(
            "hash", existing_type=sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False
        )
        batch_op.create_unique_constraint(batch_op.f("uq_audit_record_seq"), ["seq"])


def downgrade() -> None:
    with op.batch_alter_table("audit_record", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_audit_record_seq"), type_="unique")
        batch_op.drop_column("hash")
        batch_op.drop_column("prev_hash")
        batch_op.drop_column("seq")

    op.drop_table("audit_chain_head")
