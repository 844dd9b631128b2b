"""PET pictures (MIP PNG per series) and evidence-page snapshots.

Revision ID: 0002_pictures_evidence
Revises: 0001_initial
Create Date: 2026-07-21
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0002_pictures_evidence"
down_revision: str | None = "0001_initial"
branch_labels: str | None = None
depends_on: str | None = None

_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    """Create ``pet_pictures`` and ``evidence_snapshots`` (see ``cds_service/storage_tables.py``)."""
    op.create_table(
        "pet_pictures",
        sa.Column("series_uid", sa.String(64), nullable=False),
        sa.Column("png", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("series_uid", name="pk_pet_pictures"),
    )
    op.create_table(
        "evidence_snapshots",
        sa.Column("id", sa.String(43), nullable=False),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("expires_at", _TS, nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_evidence_snapshots"),
    )
    op.create_index("ix_evidence_snapshots_expires_at", "evidence_snapshots", ["expires_at"])


def downgrade() -> None:
    """Drop both tables."""
    op.drop_index("ix_evidence_snapshots_expires_at", table_name="evidence_snapshots")
    op.drop_table("evidence_snapshots")
    op.drop_table("pet_pictures")
