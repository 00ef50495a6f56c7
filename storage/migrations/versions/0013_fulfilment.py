"""fulfilment: payout details, payments, shipments and lucky-draw prize addresses

One `fulfilments` row per claim and purpose ("prize": the promotion's cashback or physical prize;
"draw": a lucky-draw win of the claim): the payout details asked at redemption (erased after the
payment and the retention period), the payment's date and reference, the carrier, tracking number
and dates of the parcel. `promotions.draw_prize_ships` says whether a lucky-draw winner is asked
for a shipping address. Promotions that kept the old wrong review defaults (cashback 30-30,
physical 40-60 working days) get the guide's 7-14, as a reload of their file would give them.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-04
"""
import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "fulfilments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("claim_id", sa.Integer(), nullable=False),
        sa.Column("purpose", sa.String(length=8), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("payout", sa.JSON(), nullable=True),
        sa.Column("payout_erased_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("address", sa.JSON(), nullable=True),
        sa.Column("paid_on", sa.Date(), nullable=True),
        sa.Column("payment_reference", sa.String(length=64), nullable=True),
        sa.Column("carrier", sa.String(length=40), nullable=True),
        sa.Column("tracking_number", sa.String(length=64), nullable=True),
        sa.Column("shipped_on", sa.Date(), nullable=True),
        sa.Column("delivered_on", sa.Date(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["claim_id"], ["claims.id"], name=op.f("fk_fulfilments_claim_id_claims"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fulfilments")),
        sa.UniqueConstraint("claim_id", "purpose", name=op.f("uq_fulfilments_claim_id")),
    )
    op.create_index(op.f("ix_fulfilments_claim_id"), "fulfilments", ["claim_id"], unique=False)
    with op.batch_alter_table("promotions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("draw_prize_ships", sa.Boolean(), nullable=False, server_default=sa.true()))
    op.execute(
        "UPDATE promotions SET processing_days_min = 7, processing_days_max = 14"
        " WHERE (prize_kind = 'cashback' AND processing_days_min = 30 AND processing_days_max = 30)"
        " OR (prize_kind = 'physical' AND processing_days_min = 40 AND processing_days_max = 60)"
    )


def downgrade() -> None:
    with op.batch_alter_table("promotions", schema=None) as batch_op:
        batch_op.drop_column("draw_prize_ships")
    op.drop_index(op.f("ix_fulfilments_claim_id"), table_name="fulfilments")
    op.drop_table("fulfilments")
