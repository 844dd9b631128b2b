"""Initial schema: JWT replay cache, hook audit with cards, card feedback, PET analyses.

Revision ID: 0001_initial
Revises:
Create Date: 2026-07-20
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0001_initial"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None

_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    """Create the four concerns' tables (``cds_service/storage_tables.py`` documents each column)."""
    op.create_table(
        "jti_replay",
        sa.Column("iss", sa.String(1024), nullable=False),
        sa.Column("jti", sa.String(255), nullable=False),
        sa.Column("expires_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("iss", "jti", name="pk_jti_replay"),
    )
    op.create_index("ix_jti_replay_expires_at", "jti_replay", ["expires_at"])

    op.create_table(
        "hook_audit",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("hook_instance", sa.String(255), nullable=False),
        sa.Column("service_id", sa.String(255), nullable=False),
        sa.Column("hook", sa.String(255), nullable=False),
        sa.Column("iss", sa.String(1024), nullable=True),
        sa.Column("tenant", sa.String(255), nullable=True),
        sa.Column("received_at", _TS, nullable=False),
        sa.Column("duration_ms", sa.Float(), nullable=False),
        sa.Column("outcome", sa.String(32), nullable=False),
        sa.Column("rules_version", sa.String(32), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_hook_audit"),
    )
    op.create_index("ix_hook_audit_hook_instance", "hook_audit", ["hook_instance"])
    op.create_index("ix_hook_audit_received_at", "hook_audit", ["received_at"])

    op.create_table(
        "hook_audit_card",
        sa.Column("card_uuid", sa.String(255), nullable=False),
        sa.Column("audit_id", sa.Integer(), nullable=False),
        sa.Column("topic", sa.String(255), nullable=True),
        sa.ForeignKeyConstraint(
            ["audit_id"], ["hook_audit.id"], name="fk_hook_audit_card_audit_id_hook_audit", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("card_uuid", name="pk_hook_audit_card"),
    )
    op.create_index("ix_hook_audit_card_audit_id", "hook_audit_card", ["audit_id"])

    op.create_table(
        "card_feedback",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("card_uuid", sa.String(255), nullable=False),
        sa.Column("service_id", sa.String(255), nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("accepted_suggestions", sa.JSON(), nullable=True),
        sa.Column("override_code", sa.String(255), nullable=True),
        sa.Column("override_system", sa.String(1024), nullable=True),
        sa.Column("override_display", sa.Text(), nullable=True),
        sa.Column("user_comment", sa.Text(), nullable=True),
        sa.Column("outcome_timestamp", _TS, nullable=False),
        sa.Column("received_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_card_feedback"),
        sa.UniqueConstraint(
            "card_uuid", "outcome", "outcome_timestamp", name="uq_card_feedback_card_outcome_time"
        ),
    )
    op.create_index("ix_card_feedback_card_uuid", "card_feedback", ["card_uuid"])

    op.create_table(
        "pet_analysis",
        sa.Column("series_instance_uid", sa.String(64), nullable=False),
        sa.Column("study_instance_uid", sa.String(64), nullable=True),
        sa.Column("patient_id", sa.String(255), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("facts", sa.JSON(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("analysis_version", sa.String(32), nullable=True),
        sa.Column("claimed_by", sa.String(255), nullable=True),
        sa.Column("claimed_at", _TS, nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("updated_at", _TS, nullable=False),
        sa.PrimaryKeyConstraint("series_instance_uid", name="pk_pet_analysis"),
    )
    op.create_index("ix_pet_analysis_patient_id", "pet_analysis", ["patient_id"])
    op.create_index("ix_pet_analysis_study_instance_uid", "pet_analysis", ["study_instance_uid"])


def downgrade() -> None:
    """Drop everything the upgrade created."""
    for index, table in (
        ("ix_pet_analysis_study_instance_uid", "pet_analysis"),
        ("ix_pet_analysis_patient_id", "pet_analysis"),
        ("ix_card_feedback_card_uuid", "card_feedback"),
        ("ix_hook_audit_card_audit_id", "hook_audit_card"),
        ("ix_hook_audit_received_at", "hook_audit"),
        ("ix_hook_audit_hook_instance", "hook_audit"),
        ("ix_jti_replay_expires_at", "jti_replay"),
    ):
        op.drop_index(index, table_name=table)
    for table in ("pet_analysis", "card_feedback", "hook_audit_card", "hook_audit", "jti_replay"):
        op.drop_table(table)
