"""email: verification codes, wrong tries, the e-mail channel of the outbox, the mailbox a claim counts for

Members get `email_verified_at` (existing members have none: they are asked to verify at their
next redeem), `email_undeliverable_at` and the opt-in `email_copies`. Claims get `email_key`, the
mailbox the redeem limit counts (lower case, plus-tag dropped, Gmail's dots dropped), filled here
for existing claims; an erased claim keeps its `erased:` token as its key.

Revision ID: 0015
Revises: 0012
Create Date: 2026-12-04
"""
import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

GMAIL = {"gmail.com": "gmail.com", "googlemail.com": "gmail.com"}


def _mailbox_key(address: str) -> str:
    """storage.mailboxes.mailbox_key as of this revision (kept here: a migration never changes)."""
    text = address.strip().lower()
    local, at, domain = text.rpartition("@")
    if not at or text.startswith("erased:"):
        return text
    local = local.split("+", 1)[0] or local
    if domain in GMAIL:
        local, domain = local.replace(".", "") or local, GMAIL[domain]
    return f"{local}@{domain}"


def upgrade() -> None:
    op.add_column("members", sa.Column("email_verified_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("members", sa.Column("email_undeliverable_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column("members", sa.Column("email_copies", sa.Boolean(), nullable=False, server_default=sa.false()))
    op.add_column("claims", sa.Column("email_key", sa.String(length=254), nullable=True))
    op.create_index(op.f("ix_claims_email_key"), "claims", ["email_key"])
    bind = op.get_bind()
    claims = sa.table("claims", sa.column("id", sa.Integer()), sa.column("email", sa.String()), sa.column("email_key", sa.String()))
    rows = bind.execute(sa.select(claims.c.id, claims.c.email)).all()
    for claim_id, email in rows:
        bind.execute(claims.update().where(claims.c.id == claim_id).values(email_key=_mailbox_key(email or "")))

    op.create_table(
        "email_codes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("address", sa.String(length=254), nullable=False),
        sa.Column("address_key", sa.String(length=254), nullable=False),
        sa.Column("code_sha256", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["member_id"], ["members.id"], name=op.f("fk_email_codes_member_id_members")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_email_codes")),
    )
    op.create_index("ix_email_codes_member", "email_codes", ["member_id", "created_at"])
    op.create_index("ix_email_codes_address", "email_codes", ["address_key", "created_at"])
    op.create_table(
        "email_attempts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=False),
        sa.Column("address_key", sa.String(length=254), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["member_id"], ["members.id"], name=op.f("fk_email_attempts_member_id_members")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_email_attempts")),
    )
    op.create_index("ix_email_attempts_lookup", "email_attempts", ["member_id", "address_key", "at"])
    op.create_table(
        "mail_outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("member_id", sa.Integer(), nullable=True),
        sa.Column("chat_id", sa.BigInteger(), nullable=True),
        sa.Column("to_address", sa.String(length=254), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("not_before", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("claimed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["member_id"], ["members.id"], name=op.f("fk_mail_outbox_member_id_members")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mail_outbox")),
    )
    op.create_index("ix_mail_outbox_due", "mail_outbox", ["status", "not_before"])
    op.create_index(op.f("ix_mail_outbox_member_id"), "mail_outbox", ["member_id"])


def downgrade() -> None:
    op.drop_table("mail_outbox")
    op.drop_table("email_attempts")
    op.drop_table("email_codes")
    op.drop_index(op.f("ix_claims_email_key"), table_name="claims")
    with op.batch_alter_table("claims") as batch_op:
        batch_op.drop_column("email_key")
    with op.batch_alter_table("members") as batch_op:
        for column in ("email_copies", "email_undeliverable_at", "email_verified_at"):
            batch_op.drop_column(column)
