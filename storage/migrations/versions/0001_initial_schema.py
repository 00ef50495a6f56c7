"""initial schema

Revision ID: 0001
Revises: 
Create Date: 2026-11-25
"""
from alembic import op
import sqlalchemy as sa


revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table('audit_log',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor_user_id', sa.BigInteger(), nullable=True),
    sa.Column('action', sa.String(length=48), nullable=False),
    sa.Column('subject', sa.String(length=120), nullable=True),
    sa.Column('details', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_log'))
    )
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_log_at'), ['at'], unique=False)

    op.create_table('catalogue_products',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('category', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('model', sa.String(length=64), nullable=False),
    sa.Column('warranty_months', sa.Integer(), nullable=False),
    sa.Column('launch_date', sa.Date(), nullable=True),
    sa.Column('serial_pattern', sa.String(length=200), nullable=True),
    sa.Column('chk_mode', sa.String(length=8), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_catalogue_products')),
    sa.UniqueConstraint('model', name=op.f('uq_catalogue_products_model'))
    )
    op.create_table('conversation_states',
    sa.Column('user_id', sa.BigInteger(), nullable=False),
    sa.Column('chat_id', sa.BigInteger(), nullable=False),
    sa.Column('flow', sa.String(length=32), nullable=False),
    sa.Column('step', sa.String(length=48), nullable=False),
    sa.Column('data', sa.JSON(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('reminded_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('user_id', name=op.f('pk_conversation_states'))
    )
    with op.batch_alter_table('conversation_states', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_conversation_states_updated_at'), ['updated_at'], unique=False)

    op.create_table('members',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('telegram_user_id', sa.BigInteger(), nullable=False),
    sa.Column('chat_id', sa.BigInteger(), nullable=False),
    sa.Column('username', sa.String(length=64), nullable=True),
    sa.Column('language', sa.String(length=16), nullable=False),
    sa.Column('consent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('consent_refused_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('email', sa.String(length=254), nullable=True),
    sa.Column('email_shared_allowed', sa.Boolean(), nullable=False),
    sa.Column('first_name', sa.String(length=100), nullable=True),
    sa.Column('last_name', sa.String(length=100), nullable=True),
    sa.Column('country', sa.String(length=2), nullable=True),
    sa.Column('phone', sa.String(length=32), nullable=True),
    sa.Column('newsletter', sa.Boolean(), nullable=False),
    sa.Column('profile_completed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('bot_blocked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('deleted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_members')),
    sa.UniqueConstraint('telegram_user_id', name=op.f('uq_members_telegram_user_id'))
    )
    with op.batch_alter_table('members', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_members_email'), ['email'], unique=False)

    op.create_table('outbox_messages',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('chat_id', sa.BigInteger(), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.Column('status', sa.String(length=8), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('not_before', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outbox_messages'))
    )
    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.create_index('ix_outbox_pending', ['status', 'chat_id', 'id'], unique=False)

    op.create_table('promotions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('slug', sa.String(length=64), nullable=False),
    sa.Column('names', sa.JSON(), nullable=False),
    sa.Column('starts_on', sa.Date(), nullable=False),
    sa.Column('ends_on', sa.Date(), nullable=False),
    sa.Column('invoice_from', sa.Date(), nullable=False),
    sa.Column('invoice_to', sa.Date(), nullable=False),
    sa.Column('redeem_limit_per_email', sa.Integer(), nullable=False),
    sa.Column('eligible_models', sa.JSON(), nullable=False),
    sa.Column('eligible_countries', sa.JSON(), nullable=False),
    sa.Column('prize_kind', sa.String(length=16), nullable=False),
    sa.Column('cashback_amount', sa.Numeric(precision=12, scale=2), nullable=True),
    sa.Column('currency', sa.String(length=3), nullable=True),
    sa.Column('prize_description', sa.JSON(), nullable=False),
    sa.Column('landing_url', sa.String(length=300), nullable=True),
    sa.Column('guide_url', sa.String(length=300), nullable=True),
    sa.Column('lucky_draw', sa.Boolean(), nullable=False),
    sa.Column('draw_prize', sa.JSON(), nullable=False),
    sa.Column('draw_date', sa.Date(), nullable=True),
    sa.Column('processing_days_min', sa.Integer(), nullable=False),
    sa.Column('processing_days_max', sa.Integer(), nullable=False),
    sa.Column('code_pattern', sa.String(length=200), nullable=False),
    sa.Column('timezone', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_promotions')),
    sa.UniqueConstraint('slug', name=op.f('uq_promotions_slug'))
    )
    op.create_table('stores',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('country', sa.String(length=2), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_stores')),
    sa.UniqueConstraint('country', 'name', name=op.f('uq_stores_country'))
    )
    with op.batch_alter_table('stores', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_stores_country'), ['country'], unique=False)

    op.create_table('catalogue_serials',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('product_id', sa.Integer(), nullable=False),
    sa.Column('serial', sa.String(length=40), nullable=False),
    sa.Column('chk', sa.String(length=3), nullable=True),
    sa.ForeignKeyConstraint(['product_id'], ['catalogue_products.id'], name=op.f('fk_catalogue_serials_product_id_catalogue_products'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_catalogue_serials')),
    sa.UniqueConstraint('serial', name=op.f('uq_catalogue_serials_serial'))
    )
    op.create_table('claims',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('order_id', sa.String(length=12), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('promotion_id', sa.Integer(), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('lucky_draw_opt_in', sa.Boolean(), nullable=True),
    sa.Column('shipping_address', sa.JSON(), nullable=True),
    sa.Column('attempt', sa.Integer(), nullable=False),
    sa.Column('idempotency_key', sa.String(length=64), nullable=False),
    sa.Column('submitted_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('decided_by', sa.BigInteger(), nullable=True),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_claims_member_id_members')),
    sa.ForeignKeyConstraint(['promotion_id'], ['promotions.id'], name=op.f('fk_claims_promotion_id_promotions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_claims')),
    sa.UniqueConstraint('idempotency_key', name=op.f('uq_claims_idempotency_key')),
    sa.UniqueConstraint('order_id', name=op.f('uq_claims_order_id'))
    )
    with op.batch_alter_table('claims', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_claims_email'), ['email'], unique=False)
        batch_op.create_index(batch_op.f('ix_claims_member_id'), ['member_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_claims_promotion_id'), ['promotion_id'], unique=False)

    op.create_table('registered_products',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('catalogue_product_id', sa.Integer(), nullable=False),
    sa.Column('serial', sa.String(length=40), nullable=False),
    sa.Column('purchase_country', sa.String(length=2), nullable=False),
    sa.Column('store_name', sa.String(length=120), nullable=False),
    sa.Column('purchase_date', sa.Date(), nullable=False),
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('invoice_path', sa.String(length=200), nullable=True),
    sa.Column('invoice_sha256', sa.String(length=64), nullable=True),
    sa.Column('invoice_number', sa.String(length=64), nullable=True),
    sa.Column('registered_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['catalogue_product_id'], ['catalogue_products.id'], name=op.f('fk_registered_products_catalogue_product_id_catalogue_products')),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_registered_products_member_id_members')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_registered_products')),
    sa.UniqueConstraint('serial', name=op.f('uq_registered_products_serial'))
    )
    with op.batch_alter_table('registered_products', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_registered_products_invoice_sha256'), ['invoice_sha256'], unique=False)
        batch_op.create_index(batch_op.f('ix_registered_products_member_id'), ['member_id'], unique=False)

    op.create_table('serial_attempts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('serial', sa.String(length=40), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_serial_attempts_member_id_members')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_serial_attempts'))
    )
    with op.batch_alter_table('serial_attempts', schema=None) as batch_op:
        batch_op.create_index('ix_serial_attempts_lookup', ['member_id', 'serial', 'at'], unique=False)

    op.create_table('activation_codes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('promotion_id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=64), nullable=False),
    sa.Column('claim_id', sa.Integer(), nullable=True),
    sa.Column('assigned_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('imported_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['claim_id'], ['claims.id'], name=op.f('fk_activation_codes_claim_id_claims')),
    sa.ForeignKeyConstraint(['promotion_id'], ['promotions.id'], name=op.f('fk_activation_codes_promotion_id_promotions')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_activation_codes')),
    sa.UniqueConstraint('claim_id', name=op.f('uq_activation_codes_claim_id')),
    sa.UniqueConstraint('promotion_id', 'code', name=op.f('uq_activation_codes_promotion_id'))
    )
    with op.batch_alter_table('activation_codes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_activation_codes_promotion_id'), ['promotion_id'], unique=False)

    op.create_table('claim_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('claim_id', sa.Integer(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('kind', sa.String(length=24), nullable=False),
    sa.Column('actor_user_id', sa.BigInteger(), nullable=True),
    sa.Column('details', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['claim_id'], ['claims.id'], name=op.f('fk_claim_events_claim_id_claims'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_claim_events'))
    )
    with op.batch_alter_table('claim_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_claim_events_claim_id'), ['claim_id'], unique=False)

    op.create_table('claim_items',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('claim_id', sa.Integer(), nullable=False),
    sa.Column('registered_product_id', sa.Integer(), nullable=False),
    sa.Column('sn_photo_path', sa.String(length=200), nullable=True),
    sa.Column('sn_photo_sha256', sa.String(length=64), nullable=True),
    sa.ForeignKeyConstraint(['claim_id'], ['claims.id'], name=op.f('fk_claim_items_claim_id_claims'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['registered_product_id'], ['registered_products.id'], name=op.f('fk_claim_items_registered_product_id_registered_products')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_claim_items'))
    )
    with op.batch_alter_table('claim_items', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_claim_items_claim_id'), ['claim_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_claim_items_sn_photo_sha256'), ['sn_photo_sha256'], unique=False)




def downgrade() -> None:

    with op.batch_alter_table('claim_items', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_claim_items_sn_photo_sha256'))
        batch_op.drop_index(batch_op.f('ix_claim_items_claim_id'))

    op.drop_table('claim_items')
    with op.batch_alter_table('claim_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_claim_events_claim_id'))

    op.drop_table('claim_events')
    with op.batch_alter_table('activation_codes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_activation_codes_promotion_id'))

    op.drop_table('activation_codes')
    with op.batch_alter_table('serial_attempts', schema=None) as batch_op:
        batch_op.drop_index('ix_serial_attempts_lookup')

    op.drop_table('serial_attempts')
    with op.batch_alter_table('registered_products', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_registered_products_member_id'))
        batch_op.drop_index(batch_op.f('ix_registered_products_invoice_sha256'))

    op.drop_table('registered_products')
    with op.batch_alter_table('claims', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_claims_promotion_id'))
        batch_op.drop_index(batch_op.f('ix_claims_member_id'))
        batch_op.drop_index(batch_op.f('ix_claims_email'))

    op.drop_table('claims')
    op.drop_table('catalogue_serials')
    with op.batch_alter_table('stores', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_stores_country'))

    op.drop_table('stores')
    op.drop_table('promotions')
    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_pending')

    op.drop_table('outbox_messages')
    with op.batch_alter_table('members', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_members_email'))

    op.drop_table('members')
    with op.batch_alter_table('conversation_states', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_conversation_states_updated_at'))

    op.drop_table('conversation_states')
    op.drop_table('catalogue_products')
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_audit_log_at'))

    op.drop_table('audit_log')

