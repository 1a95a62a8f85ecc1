"""places, entity variants, daily counts

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07 08:30:00

Issue 24. `places` (GeoNames towns and countries, ISO regions) and `mentions.place_id`: the
place a LOC mention names in its article; `article_countries`: the countries an article is
about, ranked. `entity_variants`: every form an entity was seen under and why it joined
it. `entity_days` / `story_days`: mentions per entity and articles per story per day, for
`newsworker trends`.

Stored data: every entity gets its own form as a variant; persons that are one by the new
rules (same given name, same family name once transliteration is normalised) are merged
into the oldest, with a change event for each article touched; daily counts are filled
from the stored mentions, by the day each article was stored. Places need the text: they
come with the next annotation of an article (stored articles keep no place).
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None

Id = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
BATCH = 5000


def _tables() -> None:
    op.create_table(
        'places',
        sa.Column('id', Id, primary_key=True),
        sa.Column('ref', sa.String(40), nullable=False, unique=True),
        sa.Column('geonames_id', sa.BigInteger(), nullable=True, index=True),
        sa.Column('code', sa.String(10), nullable=True),
        sa.Column('name', sa.Text(), nullable=False),
        sa.Column('country', sa.String(2), nullable=False, index=True),
        sa.Column('kind', sa.String(10), nullable=False),
        sa.Column('latitude', sa.Float(), nullable=True),
        sa.Column('longitude', sa.Float(), nullable=True),
    )
    op.create_table(
        'entity_variants',
        sa.Column('id', Id, primary_key=True),
        sa.Column('entity_id', Id, sa.ForeignKey('entities.id', ondelete='CASCADE'),
                  nullable=False),
        sa.Column('label', sa.String(10), nullable=False),
        sa.Column('key', sa.Text(), nullable=False),
        sa.Column('form', sa.Text(), nullable=False),
        sa.Column('given', sa.Text(), nullable=True),
        sa.Column('family', sa.Text(), nullable=True),
        sa.Column('country', sa.String(2), nullable=False, server_default=''),
        sa.Column('reason', sa.Text(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint('label', 'key', 'country', name='uq_entity_variants'),
    )
    op.create_index('ix_entity_variants_family', 'entity_variants',
                    ['label', 'family', 'given'])
    op.create_index('ix_entity_variants_entity', 'entity_variants', ['entity_id'])
    op.create_table(
        'article_countries',
        sa.Column('article_id', Id, sa.ForeignKey('articles.id', ondelete='CASCADE'),
                  primary_key=True),
        sa.Column('country', sa.String(2), primary_key=True, index=True),
        sa.Column('rank', sa.Integer(), nullable=False),
        sa.Column('mentions', sa.Integer(), nullable=False),
    )
    op.create_table(
        'entity_days',
        sa.Column('entity_id', Id, sa.ForeignKey('entities.id', ondelete='CASCADE'),
                  primary_key=True),
        sa.Column('day', sa.Date(), primary_key=True),
        sa.Column('mentions', sa.Integer(), nullable=False),
        sa.Column('articles', sa.Integer(), nullable=False),
    )
    op.create_index('ix_entity_days_day', 'entity_days', ['day', 'entity_id'])
    op.create_table(
        'story_days',
        sa.Column('story_id', Id, sa.ForeignKey('stories.id', ondelete='CASCADE'),
                  primary_key=True),
        sa.Column('day', sa.Date(), primary_key=True),
        sa.Column('articles', sa.Integer(), nullable=False),
    )
    op.create_index('ix_story_days_day', 'story_days', ['day', 'story_id'])
    # A plain column on SQLite: a foreign key there would rebuild the whole mentions table.
    op.add_column('mentions', sa.Column('place_id', Id, nullable=True))
    op.create_index('ix_mentions_place_id', 'mentions', ['place_id'])
    if op.get_bind().dialect.name == 'postgresql':
        op.create_foreign_key('fk_mentions_place_id', 'mentions', 'places', ['place_id'], ['id'])


def _variants(conn) -> None:
    from worker.nlp.names import person_name

    entities = sa.table('entities', sa.column('id', Id), sa.column('label', sa.String),
                        sa.column('key', sa.Text), sa.column('name', sa.Text))
    variants = sa.table('entity_variants', *(sa.column(c) for c in (
        'entity_id', 'label', 'key', 'form', 'given', 'family', 'country', 'reason',
        'created_at')))
    now = datetime.now(UTC)
    rows = conn.execute(sa.select(entities.c.id, entities.c.label, entities.c.key,
                                  entities.c.name).order_by(entities.c.id)).all()
    for i in range(0, len(rows), BATCH):
        out = []
        for entity_id, label, key, name in rows[i:i + BATCH]:
            person = person_name(key) if label == 'PER' else None
            out.append({'entity_id': entity_id, 'label': label, 'key': key, 'form': name,
                        'given': person.given if person else None,
                        'family': person.family if person else None, 'country': '',
                        'reason': 'stored before entity variants', 'created_at': now})
        conn.execute(variants.insert(), out)


def _days(conn) -> None:
    if conn.dialect.name == 'postgresql':
        day = "CAST(COALESCE(a.done_at, a.discovered_at) AT TIME ZONE 'UTC' AS date)"
    else:
        day = "date(COALESCE(a.done_at, a.discovered_at))"
    conn.execute(sa.text(f"""
        INSERT INTO entity_days (entity_id, day, mentions, articles)
        SELECT m.entity_id, {day}, count(*), count(DISTINCT m.article_id)
        FROM mentions m JOIN articles a ON a.id = m.article_id
        GROUP BY m.entity_id, {day}"""))
    conn.execute(sa.text(f"""
        INSERT INTO story_days (story_id, day, articles)
        SELECT a.story_id, {day}, count(*) FROM articles a
        WHERE a.story_id IS NOT NULL AND a.state = 'done'
        GROUP BY a.story_id, {day}"""))


def upgrade() -> None:
    _tables()
    conn = op.get_bind()
    _variants(conn)
    _days(conn)
    from sqlalchemy.orm import Session

    from worker.store.identity import join_stored_people

    session = Session(bind=conn)
    join_stored_people(session)  # events go to the outbox; the next sequencing moves them
    session.flush()


def downgrade() -> None:
    if op.get_bind().dialect.name == 'postgresql':
        op.drop_constraint('fk_mentions_place_id', 'mentions', type_='foreignkey')
    op.drop_index('ix_mentions_place_id', table_name='mentions')
    with op.batch_alter_table('mentions', schema=None) as batch_op:
        batch_op.drop_column('place_id')
    for table in ('story_days', 'entity_days', 'article_countries', 'entity_variants',
                  'places'):
        op.drop_table(table)
