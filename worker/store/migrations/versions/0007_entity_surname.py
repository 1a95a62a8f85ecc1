"""entity surname index

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-25 22:30:00

A surname alone in an article ("Macron") joins the one stored person whose full name ends
with it. That lookup was `key LIKE '% macron'`, a scan of every entity per surname; it is
now an indexed equality on the full name's last word.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

BATCH = 5000


def upgrade() -> None:
    with op.batch_alter_table('entities', schema=None) as batch_op:
        batch_op.add_column(sa.Column('surname', sa.Text(), nullable=True))
        batch_op.create_index('ix_entities_label_surname', ['label', 'surname'], unique=False)
    entities = sa.table('entities', sa.column('id', sa.BigInteger), sa.column('label', sa.String),
                        sa.column('key', sa.Text), sa.column('surname', sa.Text))
    conn = op.get_bind()
    rows = conn.execute(sa.select(entities.c.id, entities.c.key).where(
        entities.c.label == 'PER', entities.c.key.like('% %'))).all()
    update = sa.update(entities).where(entities.c.id == sa.bindparam('entity_id')) \
        .values(surname=sa.bindparam('last'))
    for i in range(0, len(rows), BATCH):
        conn.execute(update, [{'entity_id': entity_id, 'last': key.rsplit(' ', 1)[-1]}
                              for entity_id, key in rows[i:i + BATCH]])


def downgrade() -> None:
    with op.batch_alter_table('entities', schema=None) as batch_op:
        batch_op.drop_index('ix_entities_label_surname')
        batch_op.drop_column('surname')
