"""feed host and poll lease

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-26 01:00:00

At 100,000 feeds, the tick read every due feed to cap the polls per host (the host was
parsed from each URL in Python, every tick). The host is now a column, and the cap a
window query. `leased_until` marks the polls claimed and not finished, so that the tick
counts those a worker holds for later (a host's later turn) and does not claim more than
the workers can poll before the leases end.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import sqlalchemy as sa
from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

BATCH = 5000


def upgrade() -> None:
    with op.batch_alter_table('feeds', schema=None) as batch_op:
        batch_op.add_column(sa.Column('host', sa.Text(), nullable=False, server_default=''))
        batch_op.add_column(sa.Column('leased_until', sa.DateTime(timezone=True),
                                      nullable=True))
        batch_op.create_index('ix_feeds_host_due', ['host', 'next_poll_at', 'id'], unique=False)
        batch_op.create_index('ix_feeds_leased_until', ['leased_until'], unique=False)
    feeds = sa.table('feeds', sa.column('id', sa.BigInteger), sa.column('url', sa.Text),
                     sa.column('current_url', sa.Text), sa.column('host', sa.Text))
    conn = op.get_bind()
    rows = conn.execute(sa.select(feeds.c.id, sa.func.coalesce(feeds.c.current_url,
                                                                feeds.c.url))).all()
    update = sa.update(feeds).where(feeds.c.id == sa.bindparam('feed_id')) \
        .values(host=sa.bindparam('feed_host'))
    for i in range(0, len(rows), BATCH):
        conn.execute(update, [{'feed_id': feed_id, 'feed_host': urlsplit(url).hostname or ''}
                              for feed_id, url in rows[i:i + BATCH]])


def downgrade() -> None:
    with op.batch_alter_table('feeds', schema=None) as batch_op:
        batch_op.drop_index('ix_feeds_leased_until')
        batch_op.drop_index('ix_feeds_host_due')
        batch_op.drop_column('leased_until')
        batch_op.drop_column('host')
