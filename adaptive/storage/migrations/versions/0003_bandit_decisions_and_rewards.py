"""bandit decisions and rewards

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

UTC_TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "bandit_decisions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("decision_id", sa.String(64), nullable=False),
        sa.Column("policy", sa.String(200), nullable=False),
        sa.Column("policy_version", sa.String(200), nullable=False),
        sa.Column("context", sa.JSON(), nullable=False),
        sa.Column("action", sa.String(200), nullable=False),
        sa.Column("propensity", sa.Double(), nullable=False),
        sa.Column("decided_at", UTC_TIME, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_bandit_decisions"),
        sa.UniqueConstraint("decision_id", name="uq_bandit_decisions_decision_id"),
    )
    op.create_index("ix_bandit_decisions_policy_decided_at", "bandit_decisions", ["policy", "decided_at"])
    op.create_table(
        "bandit_rewards",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("decision_id", sa.String(64), nullable=False),
        sa.Column("metric", sa.String(200), nullable=False),
        sa.Column("value", sa.Double(), nullable=False),
        sa.Column("observed_at", UTC_TIME, nullable=False),
        sa.ForeignKeyConstraint(
            ["decision_id"], ["bandit_decisions.decision_id"],
            name="fk_bandit_rewards_decision_id_bandit_decisions", ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_bandit_rewards"),
    )
    op.create_index("ix_bandit_rewards_decision_id", "bandit_rewards", ["decision_id"])


def downgrade() -> None:
    op.drop_index("ix_bandit_rewards_decision_id", table_name="bandit_rewards")
    op.drop_table("bandit_rewards")
    op.drop_index("ix_bandit_decisions_policy_decided_at", table_name="bandit_decisions")
    op.drop_table("bandit_decisions")
