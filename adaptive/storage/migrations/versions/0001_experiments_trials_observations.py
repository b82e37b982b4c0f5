"""experiments, trials and observations

Revision ID: 0001
Revises:
Create Date: 2026-11-29
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

UTC_TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "experiments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("spec", sa.JSON(), nullable=False),
        sa.Column("target_source", sa.String(64), nullable=False),
        sa.Column("seed", sa.Integer(), nullable=False),
        sa.Column("trial_count", sa.Integer(), nullable=False),
        sa.Column("sobol_position", sa.Integer(), nullable=False),
        sa.Column("created_at", UTC_TIME, nullable=False),
        sa.Column("updated_at", UTC_TIME, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_experiments"),
        sa.UniqueConstraint("name", name="uq_experiments_name"),
    )
    op.create_table(
        "trials",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("experiment_id", sa.Integer(), nullable=False),
        sa.Column("index", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("source", sa.String(64), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("generator", sa.String(32), nullable=False),
        sa.Column("created_at", UTC_TIME, nullable=False),
        sa.Column("completed_at", UTC_TIME, nullable=True),
        sa.Column("failure_reason", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["experiment_id"], ["experiments.id"], name="fk_trials_experiment_id_experiments", ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name="pk_trials"),
        sa.UniqueConstraint("experiment_id", "index", name="uq_trials_experiment_id_index"),
    )
    op.create_index("ix_trials_experiment_id_status", "trials", ["experiment_id", "status"])
    op.create_table(
        "observations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("trial_id", sa.Integer(), nullable=False),
        sa.Column("metric", sa.String(200), nullable=False),
        sa.Column("mean", sa.Double(), nullable=False),
        sa.Column("sem", sa.Double(), nullable=True),
        sa.Column("created_at", UTC_TIME, nullable=False),
        sa.ForeignKeyConstraint(["trial_id"], ["trials.id"], name="fk_observations_trial_id_trials", ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name="pk_observations"),
        sa.UniqueConstraint("trial_id", "metric", name="uq_observations_trial_id_metric"),
    )


def downgrade() -> None:
    op.drop_table("observations")
    op.drop_index("ix_trials_experiment_id_status", table_name="trials")
    op.drop_table("trials")
    op.drop_table("experiments")
