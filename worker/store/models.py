"""SQLAlchemy models: the tables consumers read. Identity is enforced by unique constraints."""

from __future__ import annotations

from datetime import UTC, date, datetime
from urllib.parse import urlsplit

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# SQLite only auto-increments INTEGER PRIMARY KEY; PostgreSQL gets 64-bit ids.
Id = BigInteger().with_variant(Integer, "sqlite")


class UtcDateTime(TypeDecorator):
    """Aware UTC datetimes in and out, on SQLite (which stores naive ones) and PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.astimezone(UTC) if value is not None else None

    def process_result_value(self, value, dialect):
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value


Stamp = UtcDateTime()


class Base(DeclarativeBase):
    pass


def feed_host(url: str | None) -> str:
    """The host part of a feed URL, as the tick groups polls ('' if it has none)."""
    return (urlsplit(url).hostname or "") if url else ""


def _feed_host(context) -> str:
    return feed_host(context.get_current_parameters().get("url"))


class Feed(Base):
    __tablename__ = "feeds"
    # The tick's claim: due feeds of each host in due order.
    __table_args__ = (Index("ix_feeds_host_due", "host", "next_poll_at", "id"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    url: Mapped[str] = mapped_column(Text, unique=True)
    name: Mapped[str] = mapped_column(Text)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    in_file: Mapped[bool] = mapped_column(Boolean, default=True)
    interval_seconds: Mapped[int] = mapped_column(Integer, default=900)
    tags: Mapped[list] = mapped_column(JSON, default=list)
    # Query parameters this feed's links carry that never select content (feeds.yaml).
    strip_params: Mapped[list] = mapped_column(JSON, default=list)
    respect_robots: Mapped[bool] = mapped_column(Boolean, default=True)
    adaptive: Mapped[bool] = mapped_column(Boolean, default=False)
    # The interval in force: interval_seconds, or what the adaptive mode made of it.
    effective_interval: Mapped[int | None] = mapped_column(Integer)
    # Where a permanent redirect said the feed now lives.
    current_url: Mapped[str | None] = mapped_column(Text)
    etag: Mapped[str | None] = mapped_column(Text)
    last_modified: Mapped[str | None] = mapped_column(Text)
    next_poll_at: Mapped[datetime | None] = mapped_column(Stamp, index=True)
    # The host polls go to (of current_url, else url): the tick caps polls per host.
    host: Mapped[str] = mapped_column(Text, default=_feed_host, server_default="")
    # Set while a poll is claimed and not finished (queued, waiting for its host's turn,
    # running), cleared when it records its outcome; a dead worker's lease simply ends.
    leased_until: Mapped[datetime | None] = mapped_column(Stamp, index=True)
    last_polled_at: Mapped[datetime | None] = mapped_column(Stamp)
    last_success_at: Mapped[datetime | None] = mapped_column(Stamp)
    last_status: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0)
    # Polls started and not finished (a killed worker): bounded by max_attempts.
    poll_attempts: Mapped[int] = mapped_column(Integer, default=0)
    disabled_reason: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(Stamp)
    updated_at: Mapped[datetime] = mapped_column(Stamp)


class Poll(Base):
    __tablename__ = "polls"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    feed_id: Mapped[int] = mapped_column(ForeignKey("feeds.id", ondelete="CASCADE"), index=True)
    started_at: Mapped[datetime] = mapped_column(Stamp, index=True)
    duration_ms: Mapped[int] = mapped_column(Integer, default=0)
    status_code: Mapped[int | None] = mapped_column(Integer)
    outcome: Mapped[str] = mapped_column(String(30))  # ok, not_modified, failed
    entries: Mapped[int] = mapped_column(Integer, default=0)
    new_entries: Mapped[int] = mapped_column(Integer, default=0)
    skipped_entries: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)


class Story(Base):
    __tablename__ = "stories"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    representative_id: Mapped[int | None] = mapped_column(Id, index=True)
    created_at: Mapped[datetime] = mapped_column(Stamp)


class Article(Base):
    __tablename__ = "articles"
    # The web's date filters, stories and per-day charts; with story_id, the stories of a
    # period are read from the index alone (on SQLite a row's later columns sit past its
    # text, in overflow pages).
    __table_args__ = (Index("ix_articles_discovered_story", "discovered_at", "story_id"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    # Identity: sha256 of the canonical URL, so a URL of any length fits a unique index.
    url_key: Mapped[str] = mapped_column(String(64), unique=True, index=True)
    canonical_url: Mapped[str] = mapped_column(Text)
    url: Mapped[str] = mapped_column(Text)
    feed_id: Mapped[int | None] = mapped_column(ForeignKey("feeds.id", ondelete="SET NULL"),
                                                index=True)
    # discovered → fetched → extracted → done; or failed (with failure_reason)
    state: Mapped[str] = mapped_column(String(20), index=True)
    state_changed_at: Mapped[datetime] = mapped_column(Stamp, index=True)
    # A worker's lease on the article while it annotates a batch (not a state change).
    lease_until: Mapped[datetime | None] = mapped_column(Stamp)
    lease_owner: Mapped[str | None] = mapped_column(Text)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    failure_reason: Mapped[str | None] = mapped_column(Text)
    last_error: Mapped[str | None] = mapped_column(Text)
    # What the feed entry said
    entry_guid: Mapped[str | None] = mapped_column(Text)
    entry_title: Mapped[str | None] = mapped_column(Text)
    entry_summary: Mapped[str | None] = mapped_column(Text)
    entry_content: Mapped[str | None] = mapped_column(Text)
    entry_published: Mapped[datetime | None] = mapped_column(Stamp)
    entry_categories: Mapped[list] = mapped_column(JSON, default=list)
    # What the page said
    final_url: Mapped[str | None] = mapped_column(Text)
    title: Mapped[str | None] = mapped_column(Text)
    authors: Mapped[list] = mapped_column(JSON, default=list)
    published: Mapped[str | None] = mapped_column(String(40))
    modified: Mapped[str | None] = mapped_column(String(40))
    site_name: Mapped[str | None] = mapped_column(Text)
    description: Mapped[str | None] = mapped_column(Text)
    language: Mapped[str | None] = mapped_column(String(10), index=True)
    image: Mapped[str | None] = mapped_column(Text)
    categories: Mapped[list] = mapped_column(JSON, default=list)
    tags: Mapped[list] = mapped_column(JSON, default=list)
    # The tags of the feeds (feeds.yaml) that listed the article.
    feed_tags: Mapped[list] = mapped_column(JSON, default=list)
    text: Mapped[str | None] = mapped_column(Text)
    body: Mapped[str | None] = mapped_column(Text)
    extraction: Mapped[str | None] = mapped_column(String(10))  # page or feed
    paywalled: Mapped[bool] = mapped_column(Boolean, default=False)
    text_hash: Mapped[str | None] = mapped_column(String(64), index=True)
    minhash: Mapped[bytes | None] = mapped_column(LargeBinary)  # MinHash signature, uint64 LE
    duplicate_of_id: Mapped[int | None] = mapped_column(Id, index=True)
    story_id: Mapped[int | None] = mapped_column(ForeignKey("stories.id"), index=True)
    discovered_at: Mapped[datetime] = mapped_column(Stamp)
    updated_at: Mapped[datetime] = mapped_column(Stamp)
    done_at: Mapped[datetime | None] = mapped_column(Stamp, index=True)


class ArticleUrl(Base):
    """Every link that led to an article (feed links, tracking variants, redirects)."""

    __tablename__ = "article_urls"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    url_key: Mapped[str] = mapped_column(String(64), unique=True, index=True)  # sha256 of url
    url: Mapped[str] = mapped_column(Text)
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id", ondelete="CASCADE"),
                                            index=True)
    feed_id: Mapped[int | None] = mapped_column(ForeignKey("feeds.id", ondelete="SET NULL"))
    seen_at: Mapped[datetime] = mapped_column(Stamp)


class Page(Base):
    """The page as served, kept (compressed) between fetch and extraction, and for re-extraction."""

    __tablename__ = "pages"
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id", ondelete="CASCADE"),
                                            primary_key=True)
    url: Mapped[str] = mapped_column(Text)
    status: Mapped[int] = mapped_column(Integer)
    headers: Mapped[dict] = mapped_column(JSON, default=dict)
    body: Mapped[bytes | None] = mapped_column(LargeBinary)
    fetched_at: Mapped[datetime] = mapped_column(Stamp)


class TextHash(Base):
    """First article seen with a given normalised text: exact duplicates point at it."""

    __tablename__ = "text_hashes"
    text_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id", ondelete="CASCADE"))


class MinhashBand(Base):
    """LSH band keys of every article's signature: the shared near-duplicate index."""

    __tablename__ = "minhash_bands"
    __table_args__ = (UniqueConstraint("band_key", "article_id", name="uq_minhash_bands"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    band_key: Mapped[int] = mapped_column(BigInteger, index=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id", ondelete="CASCADE"),
                                            index=True)


class Entity(Base):
    __tablename__ = "entities"
    __table_args__ = (UniqueConstraint("label", "key", name="uq_entities_label_key"),
                      Index("ix_entities_label_surname", "label", "surname"),
                      Index("ix_entities_key", "key"))
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    label: Mapped[str] = mapped_column(String(10))
    key: Mapped[str] = mapped_column(Text)  # accent-folded lower-case name
    name: Mapped[str] = mapped_column(Text)
    # A person's last word ("macron" of "emmanuel macron"): a surname alone joins it.
    surname: Mapped[str | None] = mapped_column(Text, nullable=True)
    mention_count: Mapped[int] = mapped_column(Integer, default=0)
    article_count: Mapped[int] = mapped_column(Integer, default=0)


class EntityAlias(Base):
    __tablename__ = "entity_aliases"
    __table_args__ = (UniqueConstraint("entity_id", "alias", name="uq_entity_aliases"),)
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    entity_id: Mapped[int] = mapped_column(ForeignKey("entities.id", ondelete="CASCADE"))
    alias: Mapped[str] = mapped_column(Text)


class EntityVariant(Base):
    """Each form an entity was seen under, and why it joined that entity.

    (label, key, country) is unique: a form names one entity, except an acronym, which may
    name one organisation per country ("PS" in France and in Belgium); `country` is ''
    for every other form.
    """

    __tablename__ = "entity_variants"
    __table_args__ = (UniqueConstraint("label", "key", "country", name="uq_entity_variants"),
                      Index("ix_entity_variants_family", "label", "family", "given"),
                      Index("ix_entity_variants_entity", "entity_id"))
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    entity_id: Mapped[int] = mapped_column(ForeignKey("entities.id", ondelete="CASCADE"))
    label: Mapped[str] = mapped_column(String(10))
    key: Mapped[str] = mapped_column(Text)  # accent-folded form, as entities.key
    form: Mapped[str] = mapped_column(Text)  # as first written
    # A person's given name and family name, folded and transliteration-normalised
    # ("volodimir", "zelenski"): what spelling variants are matched on.
    given: Mapped[str | None] = mapped_column(Text)
    family: Mapped[str | None] = mapped_column(Text)
    country: Mapped[str] = mapped_column(String(2), default="", server_default="")
    reason: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(Stamp)


class Place(Base):
    """A real place a LOC mention was resolved to (GeoNames town or country, ISO region)."""

    __tablename__ = "places"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    ref: Mapped[str] = mapped_column(String(40), unique=True)  # gn:ID or iso:CODE
    geonames_id: Mapped[int | None] = mapped_column(BigInteger, index=True)
    code: Mapped[str | None] = mapped_column(String(10))  # ISO 3166 code (country, region)
    name: Mapped[str] = mapped_column(Text)
    country: Mapped[str] = mapped_column(String(2), index=True)
    kind: Mapped[str] = mapped_column(String(10))  # country, region, city, other
    latitude: Mapped[float | None] = mapped_column(Float)
    longitude: Mapped[float | None] = mapped_column(Float)


class Mention(Base):
    __tablename__ = "mentions"
    __table_args__ = (Index("ix_mentions_entity_article", "entity_id", "article_id"),
                      Index("ix_mentions_article_entity", "article_id", "entity_id"))
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id", ondelete="CASCADE"),
                                            index=True)
    entity_id: Mapped[int] = mapped_column(ForeignKey("entities.id", ondelete="CASCADE"))
    start: Mapped[int] = mapped_column(Integer)
    end: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)
    sentence: Mapped[str | None] = mapped_column(Text)
    # The place this mention names in this article (LOC only; a name may be two places).
    place_id: Mapped[int | None] = mapped_column(ForeignKey("places.id"), index=True)


class ArticleCountry(Base):
    """The countries an article is about, ranked by the mentions of their places."""

    __tablename__ = "article_countries"
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id", ondelete="CASCADE"),
                                            primary_key=True)
    country: Mapped[str] = mapped_column(String(2), primary_key=True, index=True)
    rank: Mapped[int] = mapped_column(Integer)  # 1 = the country mentioned most
    mentions: Mapped[int] = mapped_column(Integer)


class EntityDay(Base):
    """Mentions of an entity per day (the article's date): what trends are read from."""

    __tablename__ = "entity_days"
    __table_args__ = (Index("ix_entity_days_day", "day", "entity_id"),)
    entity_id: Mapped[int] = mapped_column(ForeignKey("entities.id", ondelete="CASCADE"),
                                           primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    mentions: Mapped[int] = mapped_column(Integer, default=0)
    articles: Mapped[int] = mapped_column(Integer, default=0)


class StoryDay(Base):
    """Articles of a story per day (the article's date)."""

    __tablename__ = "story_days"
    __table_args__ = (Index("ix_story_days_day", "day", "story_id"),)
    story_id: Mapped[int] = mapped_column(ForeignKey("stories.id", ondelete="CASCADE"),
                                          primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    articles: Mapped[int] = mapped_column(Integer, default=0)


class Amount(Base):
    __tablename__ = "amounts"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id", ondelete="CASCADE"),
                                            index=True)
    kind: Mapped[str] = mapped_column(String(10))  # money or percent
    start: Mapped[int] = mapped_column(Integer)
    end: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)
    value: Mapped[float] = mapped_column(Float)
    currency: Mapped[str | None] = mapped_column(String(3), index=True)


class DateMention(Base):
    __tablename__ = "date_mentions"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id", ondelete="CASCADE"),
                                            index=True)
    start: Mapped[int] = mapped_column(Integer)
    end: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)
    value: Mapped[str] = mapped_column(String(10), index=True)


class Quote(Base):
    __tablename__ = "quotes"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    article_id: Mapped[int] = mapped_column(ForeignKey("articles.id", ondelete="CASCADE"),
                                            index=True)
    start: Mapped[int] = mapped_column(Integer)
    end: Mapped[int] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text)
    speaker: Mapped[str | None] = mapped_column(Text)
    speaker_entity_id: Mapped[int | None] = mapped_column(
        ForeignKey("entities.id", ondelete="SET NULL"), index=True)


class Event(Base):
    """The ordered change feed. `seq` is handed out under a lock, so commit order = seq order.

    Rows arrive from `event_outbox` once their writer committed (events.sequence_events).
    """

    __tablename__ = "events"
    seq: Mapped[int] = mapped_column(Id, primary_key=True, autoincrement=False)
    article_id: Mapped[int] = mapped_column(Id, index=True)
    kind: Mapped[str] = mapped_column(String(20))
    state: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(Stamp)


class EventOutbox(Base):
    """Events written by a transaction, waiting for their seq (given right after its commit).

    Writers never take the counter lock: only the short sequencing transaction does.
    """

    __tablename__ = "event_outbox"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    article_id: Mapped[int] = mapped_column(Id)
    kind: Mapped[str] = mapped_column(String(20))
    state: Mapped[str] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(Stamp)


class EventCounter(Base):
    __tablename__ = "event_counter"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    last_seq: Mapped[int] = mapped_column(Id, default=0)


class Failure(Base):
    """Dead letters: permanent failures an operator can list and retry."""

    __tablename__ = "failures"
    id: Mapped[int] = mapped_column(Id, primary_key=True)
    article_id: Mapped[int | None] = mapped_column(Id, index=True)
    feed_id: Mapped[int | None] = mapped_column(Id, index=True)
    stage: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str] = mapped_column(Text)
    message: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(Stamp)
    resolved_at: Mapped[datetime | None] = mapped_column(Stamp)
