"""follow-ups of claims (halfway notice, overdue repost) and serials read from S/N photos

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25
"""
from alembic import op
import sqlalchemy as sa

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("claims", schema=None) as batch_op:
        batch_op.add_column(sa.Column("halfway_notified_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("overdue_posted_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("claim_items", schema=None) as batch_op:
        batch_op.add_column(sa.Column("label_serials", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("claim_items", schema=None) as batch_op:
        batch_op.drop_column("label_serials")
    with op.batch_alter_table("claims", schema=None) as batch_op:
        batch_op.drop_column("overdue_posted_at")
        batch_op.drop_column("halfway_notified_at")
