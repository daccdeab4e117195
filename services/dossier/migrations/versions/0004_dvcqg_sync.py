"""dvcqg_sync: each dossier's sync to DVCQG, marked pending by triggers on its changes

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-20 00:00:00.000000

Every dossier already stored is marked pending: DVCQG has none of them yet.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from lgsp_kit.db import UTCDateTime

# As services/dossier/models.py has them at this revision.
SQLITE_NOW = "(julianday('now') - 2440587.5) * 86400.0"
PG_NOW = "extract(epoch from clock_timestamp())"
TABLES = ("dossier_history", "dossier_payment")
MARK = (
    "INSERT INTO dvcqg_sync (dossier_id, changes, pending_since, on_dvcqg, progress_sent, "
    "attempts) VALUES (NEW.dossier_id, 1, {now}, {false}, 0, 0) ON CONFLICT (dossier_id) DO "
    "UPDATE SET changes = dvcqg_sync.changes + 1, "
    "pending_since = coalesce(dvcqg_sync.pending_since, excluded.pending_since)"
)


def sync_triggers(dialect: str) -> list[str]:
    if dialect == "sqlite":
        mark = MARK.format(now=SQLITE_NOW, false="0")
        return [
            f"CREATE TRIGGER IF NOT EXISTS dvcqg_mark_{t} AFTER INSERT ON {t} BEGIN {mark}; END"
            for t in TABLES
        ]
    mark = MARK.format(now=PG_NOW, false="false")
    return [
        "CREATE OR REPLACE FUNCTION dvcqg_mark() RETURNS trigger LANGUAGE plpgsql AS "
        f"$$ BEGIN {mark}; RETURN NULL; END $$",
        *(
            f"CREATE OR REPLACE TRIGGER dvcqg_mark_{t} AFTER INSERT ON {t} "
            "FOR EACH ROW EXECUTE FUNCTION dvcqg_mark()"
            for t in TABLES
        ),
    ]


revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "dvcqg_sync",
        sa.Column("dossier_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("changes", sa.Integer(), nullable=False),
        sa.Column("pending_since", sa.Float(), nullable=True),
        sa.Column("on_dvcqg", sa.Boolean(), nullable=False),
        sa.Column("progress_sent", sa.Integer(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt", sa.Float(), nullable=True),
        sa.Column("last_error", sa.String(length=500), nullable=True),
        sa.Column("synced_at", UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(["dossier_id"], ["dossier.id"]),
        sa.PrimaryKeyConstraint("dossier_id"),
    )
    op.create_index("ix_dvcqg_sync_pending_since", "dvcqg_sync", ["pending_since"])
    dialect = op.get_bind().dialect.name
    now = SQLITE_NOW if dialect == "sqlite" else PG_NOW
    false = "0" if dialect == "sqlite" else "false"
    op.execute(
        "INSERT INTO dvcqg_sync (dossier_id, changes, pending_since, on_dvcqg, progress_sent, "
        f"attempts) SELECT id, 1, {now}, {false}, 0, 0 FROM dossier"
    )
    for statement in sync_triggers(dialect):
        op.execute(statement)


def downgrade() -> None:
    sqlite = op.get_bind().dialect.name == "sqlite"
    for table in TABLES:
        op.execute(
            f"DROP TRIGGER IF EXISTS dvcqg_mark_{table}" + ("" if sqlite else f" ON {table}")
        )
    if not sqlite:
        op.execute("DROP FUNCTION IF EXISTS dvcqg_mark()")
    op.drop_index("ix_dvcqg_sync_pending_since", table_name="dvcqg_sync")
    op.drop_table("dvcqg_sync")
