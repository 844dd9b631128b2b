"""Heartbeats of background components (last successful ``her2-cds sync`` poll).

Revision ID: 0003_heartbeats
Revises: 0002_pictures_evidence
Create Date: 2026-08-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0003_heartbeats"
down_revision: str | None = "0002_pictures_evidence"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Create ``heartbeats`` (see ``cds_service/storage/tables.py``)."""
    op.create_table(
        "heartbeats",
        sa.Column("component", sa.String(32), nullable=False),
        sa.Column("last_success_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("component", name="pk_heartbeats"),
    )


def downgrade() -> None:
    """Drop the table."""
    op.drop_table("heartbeats")
