"""event outbox, consumer query indexes

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25 19:10:00

Writers put change events in `event_outbox` (no lock); a short transaction right after
their commit gives them seqs in `events`. Indexes for what consumers ask of a large store:
recent articles (done_at) and an article's entities (mentions by article then entity).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade() -> None:
    op.create_table(
        'event_outbox',
        sa.Column('id', Id, nullable=False),
        sa.Column('article_id', Id, nullable=False),
        sa.Column('kind', sa.String(length=20), nullable=False),
        sa.Column('state', sa.String(length=20), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('articles', schema=None) as batch_op:
        batch_op.create_index('ix_articles_done_at', ['done_at'], unique=False)
    with op.batch_alter_table('mentions', schema=None) as batch_op:
        batch_op.create_index('ix_mentions_article_entity', ['article_id', 'entity_id'],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table('mentions', schema=None) as batch_op:
        batch_op.drop_index('ix_mentions_article_entity')
    with op.batch_alter_table('articles', schema=None) as batch_op:
        batch_op.drop_index('ix_articles_done_at')
    op.drop_table('event_outbox')
