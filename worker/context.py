"""What a step needs, built once: settings, the HTTP client, the feeds file and its reload.

The CLI, `ingest --once`, the benchmark and the Celery worker all build their context
here, so the network policy (private networks, robots.txt) has one source.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

from worker.feeds import file as feeds_file
from worker.http import HttpClient
from worker.settings import Settings
from worker.store import feeds as feed_store
from worker.store.db import session_scope

log = logging.getLogger(__name__)


@dataclass
class Context:
    """Settings, the one HTTP client and the feeds file in force."""

    settings: Settings
    http: HttpClient
    feeds_path: Path | None = None
    # Set by the feeds file's `defaults: allow_private_networks` or the setting.
    allow_private: bool = False
    _feeds_mtime: float | None = field(default=None, repr=False)

    @property
    def db(self) -> str:
        return self.settings.resolved_database_url()

    def close(self) -> None:
        self.http.close()

    def sync_feeds(self, remove_missing: bool = True) -> feeds_file.FeedsFile:
        """Validate the feeds file and make the feeds table match it (raises FeedsFileError)."""
        # 100,000 feeds are as many long-lived objects: see paused_cycle_collection.
        with feeds_file.paused_cycle_collection():
            feeds = feeds_file.load(self.feeds_path or self.settings.feeds_file)
            with session_scope(self.db) as session:
                written = feed_store.sync_feeds(session, feeds.feeds,
                                                remove_missing=remove_missing)
        log.info("feeds synced: %s", written)
        self._apply(feeds)
        return feeds

    def reload_feeds_if_changed(self) -> bool:
        """Hot reload: a changed file is validated and synced; a bad one is logged and ignored.

        True when a new list is in force.
        """
        path = self.feeds_path or self.settings.feeds_file
        try:
            mtime = path.stat().st_mtime
        except OSError as exc:
            log.error("cannot read feeds file %s: %s; keeping the last good list", path, exc)
            return False
        if mtime == self._feeds_mtime:
            return False
        self._feeds_mtime = mtime
        try:
            feeds = self.sync_feeds()
        except feeds_file.FeedsFileError as exc:
            log.error("feeds file rejected, keeping the last good list: %s", exc)
            return False
        log.info("feeds file loaded: %d feeds", len(feeds.feeds))
        return True

    def _apply(self, feeds: feeds_file.FeedsFile) -> None:
        self.allow_private = self.settings.allow_private_networks or feeds.allow_private_networks


def make_context(settings: Settings, feeds_path: Path | None = None,
                 read_feeds: bool = True, file_allows_private: bool | None = None
                 ) -> Context:
    """A context for `settings`; reads the feeds file's network policy when it can.

    `file_allows_private`: that policy, already read (a worker reads it once before it
    forks: the file of 100,000 feeds costs seconds to load, in every process otherwise).
    """
    ctx = Context(settings=settings, http=HttpClient(settings), feeds_path=feeds_path,
                  allow_private=settings.allow_private_networks)
    if file_allows_private is not None:
        ctx.allow_private = settings.allow_private_networks or file_allows_private
    elif read_feeds:
        ctx.allow_private = settings.allow_private_networks or \
            bool(file_network_policy(settings, feeds_path))
    return ctx


def file_network_policy(settings: Settings, feeds_path: Path | None = None) -> bool | None:
    """The feeds file's `defaults: allow_private_networks`; None if the file is rejected."""
    try:
        with feeds_file.paused_cycle_collection():
            return feeds_file.load(feeds_path or settings.feeds_file).allow_private_networks
    except feeds_file.FeedsFileError as exc:
        log.error("feeds file rejected: %s", exc)
        return None
