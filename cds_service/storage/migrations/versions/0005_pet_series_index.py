"""PET series index and per-source sync state.

Revision ID: 0005_pet_series_index
Revises: 0004_alerts
Create Date: 2026-08-02
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0005_pet_series_index"
down_revision: str | None = "0004_alerts"
branch_labels: str | None = None
depends_on: str | None = None

_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    """Create ``pet_series_index`` and ``pet_source_state`` (see ``cds_service/storage/tables.py``)."""
    op.create_table(
        "pet_series_index",
        sa.Column("series_instance_uid", sa.String(64), nullable=False),
        sa.Column("study_instance_uid", sa.String(64), nullable=False),
        sa.Column("patient_id", sa.String(255), nullable=True),
        sa.Column("issuer_of_patient_id", sa.String(255), nullable=True),
        sa.Column("source", sa.String(1024), nullable=False),
        sa.Column("series_date", sa.Date(), nullable=True),
        sa.Column("series_time", sa.Time(), nullable=True),
        sa.Column("instance_count", sa.Integer(), nullable=True),
        sa.Column("related_sr", sa.JSON(), nullable=False),
        sa.Column("related_seg", sa.JSON(), nullable=False),
        sa.Column("triage", sa.String(16), nullable=False),
        sa.Column("tracer", sa.String(64), nullable=True),
        sa.Column("triage_note", sa.Text(), nullable=True),
        sa.Column("listed_at", _TS, nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("series_instance_uid", name="pk_pet_series_index"),
    )
    op.create_index("ix_pet_series_index_patient_id", "pet_series_index", ["patient_id"])
    op.create_index("ix_pet_series_index_study_instance_uid", "pet_series_index", ["study_instance_uid"])
    op.create_index("ix_pet_series_index_source", "pet_series_index", ["source"])
    op.create_table(
        "pet_source_state",
        sa.Column("source", sa.String(1024), nullable=False),
        sa.Column("last_success_at", _TS, nullable=True),
        sa.Column("watermark", _TS, nullable=True),
        sa.Column("last_failure_at", _TS, nullable=True),
        sa.Column("failure_reason", sa.Text(), nullable=True),
        sa.Column("pass_owner", sa.String(255), nullable=True),
        sa.Column("pass_started_at", _TS, nullable=True),
        sa.Column("pass_finished_at", _TS, nullable=True),
        sa.PrimaryKeyConstraint("source", name="pk_pet_source_state"),
    )


def downgrade() -> None:
    """Drop both tables."""
    op.drop_table("pet_source_state")
    op.drop_index("ix_pet_series_index_source", table_name="pet_series_index")
    op.drop_index("ix_pet_series_index_study_instance_uid", table_name="pet_series_index")
    op.drop_index("ix_pet_series_index_patient_id", table_name="pet_series_index")
    op.drop_table("pet_series_index")
