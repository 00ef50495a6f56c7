"""lucky draw: winners answer within the promotion's deadline, or a reserve takes the prize

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26
"""
from alembic import op
import sqlalchemy as sa

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("promotions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("draw_answer_days", sa.Integer(), nullable=False, server_default="14"))
    with op.batch_alter_table("draws", schema=None) as batch_op:
        batch_op.add_column(sa.Column("answers", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("answer_due_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("draws", schema=None) as batch_op:
        batch_op.drop_column("answer_due_at")
        batch_op.drop_column("answers")
    with op.batch_alter_table("promotions", schema=None) as batch_op:
        batch_op.drop_column("draw_answer_days")
