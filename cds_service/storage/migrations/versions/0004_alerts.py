"""Review alerts: the last assessed scenario per patient, the alerts, and their delivery outbox.

Revision ID: 0004_alerts
Revises: 0003_heartbeats
Create Date: 2026-08-03
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0004_alerts"
down_revision: str | None = "0003_heartbeats"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    """Create ``alert_patient_state``, ``alerts`` and ``alert_outbox`` (``storage/tables.py``)."""
    op.create_table(
        "alert_patient_state",
        sa.Column("patient_id", sa.String(255), nullable=False),
        sa.Column("scenario", sa.String(64), nullable=True),
        sa.Column("cards", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("patient_id", name="pk_alert_patient_state"),
    )
    op.create_table(
        "alerts",
        sa.Column("alert_key", sa.String(64), nullable=False),
        sa.Column("patient_id", sa.String(255), nullable=False),
        sa.Column("scenario", sa.String(64), nullable=False),
        sa.Column("reason", sa.String(32), nullable=False),
        sa.Column("trigger", sa.String(16), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("summary", sa.Text(), nullable=False),
        sa.Column("basis", sa.JSON(), nullable=False),
        sa.Column("evidence_id", sa.String(43), nullable=True),
        sa.Column("reason_ref", sa.String(1024), nullable=True),
        sa.Column("rules_version", sa.String(32), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("acknowledged_by", sa.String(255), nullable=True),
        sa.Column("acknowledged_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("done_by", sa.String(255), nullable=True),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("alert_key", name="pk_alerts"),
    )
    op.create_index("ix_alerts_state", "alerts", ["state"])
    op.create_index("ix_alerts_patient_id", "alerts", ["patient_id"])
    op.create_table(
        "alert_outbox",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("alert_key", sa.String(64), nullable=False),
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("remote_ref", sa.String(1024), nullable=True),
        sa.Column("claimed_by", sa.String(255), nullable=True),
        sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_alert_outbox"),
        sa.ForeignKeyConstraint(
            ["alert_key"],
            ["alerts.alert_key"],
            name="fk_alert_outbox_alert_key_alerts",
            ondelete="CASCADE",
        ),
        sa.UniqueConstraint("alert_key", "channel", name="uq_alert_outbox_alert_key_channel"),
    )
    op.create_index("ix_alert_outbox_status_next", "alert_outbox", ["status", "next_attempt_at"])


def downgrade() -> None:
    """Drop the three tables."""
    op.drop_table("alert_outbox")
    op.drop_table("alerts")
    op.drop_table("alert_patient_state")
