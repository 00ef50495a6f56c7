"""scale: indexes for the staff card's and the redeem options' look-ups, and the catalogue's version

The card's checks and the redeem options scanned whole tables at 100,000 claims: other accounts'
attempts on a serial (serial_attempts by serial), a product's live claims (claim_items by
registered product), the claims of an e-mail in any case (lower(email)), the same invoice number
at the same store (upper(invoice_number), lower(store_name)). catalogue_version is one row that
every catalogue load bumps, so each bot process knows its in-memory catalogue is stale.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-04
"""
import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "catalogue_version",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_catalogue_version")),
    )
    op.create_index("ix_serial_attempts_serial_kind", "serial_attempts", ["serial", "kind"])
    op.create_index(op.f("ix_claim_items_registered_product_id"), "claim_items", ["registered_product_id"])
    op.create_index("ix_claims_email_lower", "claims", [sa.text("lower(email)")])
    op.create_index(
        "ix_registered_products_invoice_upper",
        "registered_products",
        [sa.text("upper(invoice_number)"), sa.text("lower(store_name)")],
    )


def downgrade() -> None:
    op.drop_index("ix_registered_products_invoice_upper", table_name="registered_products")
    op.drop_index("ix_claims_email_lower", table_name="claims")
    op.drop_index(op.f("ix_claim_items_registered_product_id"), table_name="claim_items")
    op.drop_index("ix_serial_attempts_serial_kind", table_name="serial_attempts")
    op.drop_table("catalogue_version")
