"""round numbers counted per experiment

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("rounds") as batch:
        batch.add_column(sa.Column("number", sa.Integer(), nullable=True))
    rounds = sa.table("rounds", sa.column("id", sa.Integer()), sa.column("experiment_id", sa.Integer()),
                      sa.column("number", sa.Integer()))
    conn = op.get_bind()
    # Existing rounds are numbered 1, 2, ... per experiment in the order they were started.
    numbers: dict[int, int] = {}
    for round_id, experiment_id in conn.execute(sa.select(rounds.c.id, rounds.c.experiment_id).order_by(rounds.c.id)):
        numbers[experiment_id] = numbers.get(experiment_id, 0) + 1
        conn.execute(sa.update(rounds).where(rounds.c.id == round_id).values(number=numbers[experiment_id]))
    with op.batch_alter_table("rounds") as batch:
        batch.alter_column("number", existing_type=sa.Integer(), nullable=False)
        batch.create_unique_constraint("uq_rounds_experiment_id_number", ["experiment_id", "number"])


def downgrade() -> None:
    with op.batch_alter_table("rounds") as batch:
        batch.drop_constraint("uq_rounds_experiment_id_number", type_="unique")
        batch.drop_column("number")
