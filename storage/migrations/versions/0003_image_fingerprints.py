"""image fingerprints for the duplicate-photo fraud signal

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26
"""
from alembic import op
import sqlalchemy as sa

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

_BANDS = ("band0", "band1", "band2", "band3")


def upgrade() -> None:
    op.create_table(
        "image_fingerprints",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("phash", sa.BigInteger(), nullable=False),
        sa.Column("band0", sa.Integer(), nullable=False),
        sa.Column("band1", sa.Integer(), nullable=False),
        sa.Column("band2", sa.Integer(), nullable=False),
        sa.Column("band3", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("registered_product_id", sa.Integer(), nullable=True),
        sa.Column("claim_id", sa.Integer(), nullable=True),
        sa.Column("path", sa.String(length=200), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["member_id"], ["members.id"], name=op.f("fk_image_fingerprints_member_id_members")),
        sa.ForeignKeyConstraint(
            ["registered_product_id"], ["registered_products.id"],
            name=op.f("fk_image_fingerprints_registered_product_id_registered_products"), ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(["claim_id"], ["claims.id"], name=op.f("fk_image_fingerprints_claim_id_claims"), ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_image_fingerprints")),
    )
    with op.batch_alter_table("image_fingerprints", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_image_fingerprints_sha256"), ["sha256"], unique=False)
        batch_op.create_index(batch_op.f("ix_image_fingerprints_member_id"), ["member_id"], unique=False)
        for band in _BANDS:
            batch_op.create_index(batch_op.f(f"ix_image_fingerprints_{band}"), [band], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("image_fingerprints", schema=None) as batch_op:
        for band in reversed(_BANDS):
            batch_op.drop_index(batch_op.f(f"ix_image_fingerprints_{band}"))
        batch_op.drop_index(batch_op.f("ix_image_fingerprints_member_id"))
        batch_op.drop_index(batch_op.f("ix_image_fingerprints_sha256"))
    op.drop_table("image_fingerprints")
