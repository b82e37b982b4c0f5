"""model states: fitted GP hyperparameters kept between suggests

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

UTC_TIME = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "model_states",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("experiment_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(200), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=False),
        sa.Column("state", sa.JSON(), nullable=False),
        sa.Column("updated_at", UTC_TIME, nullable=False),
        sa.ForeignKeyConstraint(
            ["experiment_id"], ["experiments.id"], name="fk_model_states_experiment_id_experiments", ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_model_states"),
        sa.UniqueConstraint("experiment_id", "key", name="uq_model_states_experiment_id_key"),
    )


def downgrade() -> None:
    op.drop_table("model_states")
