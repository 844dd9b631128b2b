"""Alerts: leases of the in-service loop, FHIR Subscriptions, task owner and review outcome.

Revision ID: 0006_alert_loop_subscriptions
Revises: 0005_pet_series_index
Create Date: 2026-12-07
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision: str = "0006_alert_loop_subscriptions"
down_revision: str | None = "0005_pet_series_index"
branch_labels: str | None = None
depends_on: str | None = None

_TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    """Create ``leases`` and ``alert_subscriptions``; add owner and outcome columns to ``alerts``."""
    op.create_table(
        "leases",
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("owner", sa.String(255), nullable=True),
        sa.Column("started_at", _TS, nullable=True),
        sa.Column("finished_at", _TS, nullable=True),
        sa.PrimaryKeyConstraint("name", name="pk_leases"),
    )
    op.create_table(
        "alert_subscriptions",
        sa.Column("id", sa.String(43), nullable=False),
        sa.Column("topic", sa.String(1024), nullable=False),
        sa.Column("secret_hash", sa.String(64), nullable=False),
        sa.Column("remote_ref", sa.String(1024), nullable=True),
        sa.Column("created_at", _TS, nullable=False),
        sa.Column("last_event_at", _TS, nullable=True),
        sa.Column("events", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_alert_subscriptions"),
        sa.UniqueConstraint("topic", name="uq_alert_subscriptions_topic"),
    )
    with op.batch_alter_table("alerts") as batch:
        batch.add_column(sa.Column("owner_ref", sa.String(1024), nullable=True))
        batch.add_column(sa.Column("owner_source", sa.String(16), nullable=True))
        batch.add_column(sa.Column("outcome", sa.String(32), nullable=True))


def downgrade() -> None:
    """Drop the added columns and both tables."""
    with op.batch_alter_table("alerts") as batch:
        batch.drop_column("outcome")
        batch.drop_column("owner_source")
        batch.drop_column("owner_ref")
    op.drop_table("alert_subscriptions")
    op.drop_table("leases")
