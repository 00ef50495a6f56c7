"""promotion rules seen in the field: cooling-off, household cap, deadline, residence, stock

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25
"""
from alembic import op
import sqlalchemy as sa

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("promotions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("cooling_off_days", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("household_limit", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("redeem_deadline", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("residence_only", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column("while_stock_lasts", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column("prize_stock", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("promotions", schema=None) as batch_op:
        for column in ("prize_stock", "while_stock_lasts", "residence_only", "redeem_deadline", "household_limit", "cooling_off_days"):
            batch_op.drop_column(column)
