"""full-text search over articles, entity name lookup

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07 08:00:00

The web pages and `/api/v1/articles?q=` search titles and texts, `/quotes` the words
and speakers of quotes.

Articles. SQLite: an FTS5 table over `articles` (external content: the text is not
stored twice), accents folded. PostgreSQL: `article_search`, one `tsvector` per article
with the `french` configuration (title weighted above text) and a GIN index. Both are
kept in step with `articles` by triggers that fire only when a title or the text is
written (not at each state change), so no writer has to remember them; existing articles
are indexed here.

Quotes: FTS5 on SQLite (with triggers); on PostgreSQL GIN expression indexes (`french`
for the words, `simple` for the speaker's name, searched by word prefix).

`entities.key` gets an index of its own for the name lookup (`/api/v1/entities?q=`), and
`articles (discovered_at, story_id)` one for the date filters, stories and per-day
charts (read from the index alone).
"""

from __future__ import annotations

from alembic import op

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

# The text is capped: a tsvector holds at most 1 MB, and a 5 MB page must not fail a write.
PG_DOCUMENT = ("setweight(to_tsvector('french', coalesce({row}title, {row}entry_title, '')), 'A')"
               " || to_tsvector('french', left(coalesce({row}text, ''), 200000))")

# Also in worker/store/quotes.py, which must write the same expressions to use the indexes.
PG_QUOTE_TEXT = "to_tsvector('french', text)"
PG_QUOTE_SPEAKER = "to_tsvector('simple', coalesce(speaker, ''))"

SQLITE = [
    "CREATE VIRTUAL TABLE articles_fts USING fts5(title, entry_title, text, content='articles', "
    "content_rowid='id', tokenize='unicode61 remove_diacritics 2')",
    "CREATE TRIGGER articles_fts_insert AFTER INSERT ON articles BEGIN "
    "INSERT INTO articles_fts(rowid, title, entry_title, text) "
    "VALUES (new.id, new.title, new.entry_title, new.text); END",
    "CREATE TRIGGER articles_fts_delete AFTER DELETE ON articles BEGIN "
    "INSERT INTO articles_fts(articles_fts, rowid, title, entry_title, text) "
    "VALUES ('delete', old.id, old.title, old.entry_title, old.text); END",
    "CREATE TRIGGER articles_fts_update AFTER UPDATE OF title, entry_title, text ON articles BEGIN "
    "INSERT INTO articles_fts(articles_fts, rowid, title, entry_title, text) "
    "VALUES ('delete', old.id, old.title, old.entry_title, old.text); "
    "INSERT INTO articles_fts(rowid, title, entry_title, text) "
    "VALUES (new.id, new.title, new.entry_title, new.text); END",
    "INSERT INTO articles_fts(articles_fts) VALUES ('rebuild')",
    "CREATE VIRTUAL TABLE quotes_fts USING fts5(text, speaker, content='quotes', "
    "content_rowid='id', tokenize='unicode61 remove_diacritics 2')",
    "CREATE TRIGGER quotes_fts_insert AFTER INSERT ON quotes BEGIN "
    "INSERT INTO quotes_fts(rowid, text, speaker) VALUES (new.id, new.text, new.speaker); END",
    "CREATE TRIGGER quotes_fts_delete AFTER DELETE ON quotes BEGIN "
    "INSERT INTO quotes_fts(quotes_fts, rowid, text, speaker) "
    "VALUES ('delete', old.id, old.text, old.speaker); END",
    "CREATE TRIGGER quotes_fts_update AFTER UPDATE OF text, speaker ON quotes BEGIN "
    "INSERT INTO quotes_fts(quotes_fts, rowid, text, speaker) "
    "VALUES ('delete', old.id, old.text, old.speaker); "
    "INSERT INTO quotes_fts(rowid, text, speaker) VALUES (new.id, new.text, new.speaker); END",
    "INSERT INTO quotes_fts(quotes_fts) VALUES ('rebuild')",
]

POSTGRESQL = [
    "CREATE TABLE article_search (article_id BIGINT PRIMARY KEY "
    "REFERENCES articles (id) ON DELETE CASCADE, document TSVECTOR NOT NULL)",
    f"""CREATE FUNCTION newsworker_article_search() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO article_search (article_id, document)
    VALUES (NEW.id, {PG_DOCUMENT.format(row='NEW.')})
    ON CONFLICT (article_id) DO UPDATE SET document = EXCLUDED.document;
    RETURN NULL;
END $$""",
    "CREATE TRIGGER articles_search AFTER INSERT OR UPDATE OF title, entry_title, text "
    "ON articles FOR EACH ROW EXECUTE FUNCTION newsworker_article_search()",
    f"INSERT INTO article_search (article_id, document) "
    f"SELECT id, {PG_DOCUMENT.format(row='')} FROM articles",
    "CREATE INDEX ix_article_search_document ON article_search USING gin (document)",
    # Quotes are short: expression indexes, nothing stored twice.
    f"CREATE INDEX ix_quotes_text_search ON quotes USING gin ({PG_QUOTE_TEXT})",
    f"CREATE INDEX ix_quotes_speaker_search ON quotes USING gin ({PG_QUOTE_SPEAKER})",
]


def upgrade() -> None:
    for statement in SQLITE if op.get_bind().dialect.name == 'sqlite' else POSTGRESQL:
        op.execute(statement)
    op.create_index('ix_entities_key', 'entities', ['key'])
    op.create_index('ix_articles_discovered_story', 'articles', ['discovered_at', 'story_id'])


def downgrade() -> None:
    op.drop_index('ix_entities_key', table_name='entities')
    op.drop_index('ix_articles_discovered_story', table_name='articles')
    if op.get_bind().dialect.name == 'sqlite':
        for table in ('articles', 'quotes'):
            for trigger in ('insert', 'delete', 'update'):
                op.execute(f"DROP TRIGGER {table}_fts_{trigger}")
            op.execute(f"DROP TABLE {table}_fts")
    else:
        op.execute("DROP INDEX ix_quotes_text_search")
        op.execute("DROP INDEX ix_quotes_speaker_search")
        op.execute("DROP TRIGGER articles_search ON articles")
        op.execute("DROP FUNCTION newsworker_article_search()")
        op.execute("DROP TABLE article_search")
