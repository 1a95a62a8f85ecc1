"""long fields, hashed URL identity, attempts per step, feed tags and strip_params

Revision ID: 0005
Revises: 0004

Real feeds carry links, GUIDs, ETags and names longer than any VARCHAR we could pick,
and PostgreSQL cannot put a value over ~2.7 kB into a btree index: every such column
becomes TEXT, and URL identity moves to a sha256 key beside the full URL.
"""

from __future__ import annotations

import hashlib

import sqlalchemy as sa
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

TEXT_COLUMNS = {
    "feeds": ["url", "name", "current_url", "etag", "last_modified"],
    "articles": ["canonical_url", "url", "entry_guid", "final_url", "site_name", "image",
                 "failure_reason", "lease_owner"],
    "article_urls": ["url"],
    "pages": ["url"],
    "entities": ["key", "name"],
    "entity_aliases": ["alias"],
    "mentions": ["text"],
    "amounts": ["text"],
    "date_mentions": ["text"],
    "quotes": ["speaker"],
    "failures": ["reason"],
}


def _key(url: str) -> str:
    return hashlib.sha256(url.encode("utf-8")).hexdigest()


def _backfill(table: str, source: str) -> None:
    bind = op.get_bind()
    rows = bind.execute(sa.text(f"SELECT id, {source} FROM {table}")).all()
    for row_id, url in rows:
        bind.execute(sa.text(f"UPDATE {table} SET url_key = :k WHERE id = :i"),
                     {"k": _key(url), "i": row_id})


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    if postgres:
        # The old unique constraints would index the full (long) URL.
        op.drop_constraint("articles_canonical_url_key", "articles", type_="unique")
        op.drop_constraint("article_urls_url_key", "article_urls", type_="unique")
        for table, columns in TEXT_COLUMNS.items():
            for column in columns:
                op.alter_column(table, column, type_=sa.Text())
    with op.batch_alter_table("feeds") as batch:
        batch.add_column(sa.Column("strip_params", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("poll_attempts", sa.Integer(), nullable=False,
                                   server_default="0"))
    with op.batch_alter_table("articles") as batch:
        batch.add_column(sa.Column("url_key", sa.String(64), nullable=True))
        batch.add_column(sa.Column("feed_tags", sa.JSON(), nullable=True))
    with op.batch_alter_table("article_urls") as batch:
        batch.add_column(sa.Column("url_key", sa.String(64), nullable=True))
    _backfill("articles", "canonical_url")
    _backfill("article_urls", "url")
    # Every article is known by its canonical URL too (lookups go through article_urls).
    bind = op.get_bind()
    known = {k for (k,) in bind.execute(sa.text("SELECT url_key FROM article_urls"))}
    for article_id, url, feed_id, seen in bind.execute(sa.text(
            "SELECT id, canonical_url, feed_id, discovered_at FROM articles")).all():
        if _key(url) not in known:
            bind.execute(sa.text("INSERT INTO article_urls (url_key, url, article_id, feed_id, "
                                 "seen_at) VALUES (:k, :u, :a, :f, :s)"),
                         {"k": _key(url), "u": url, "a": article_id, "f": feed_id, "s": seen})
    op.create_index("ix_articles_url_key", "articles", ["url_key"], unique=True)
    op.create_index("ix_article_urls_url_key", "article_urls", ["url_key"], unique=True)


def downgrade() -> None:
    op.drop_index("ix_article_urls_url_key", "article_urls")
    op.drop_index("ix_articles_url_key", "articles")
    with op.batch_alter_table("article_urls") as batch:
        batch.drop_column("url_key")
    with op.batch_alter_table("articles") as batch:
        batch.drop_column("feed_tags")
        batch.drop_column("url_key")
    with op.batch_alter_table("feeds") as batch:
        batch.drop_column("poll_attempts")
        batch.drop_column("strip_params")
