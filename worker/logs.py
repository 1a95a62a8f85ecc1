"""Logging: text or JSON lines, with the feed and article ids on every record."""

from __future__ import annotations

import contextvars
import json
import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager

_feed_id: contextvars.ContextVar[int | None] = contextvars.ContextVar("feed_id", default=None)
_article_id: contextvars.ContextVar[int | None] = contextvars.ContextVar("article_id",
                                                                          default=None)
TEXT_FORMAT = ("%(asctime)s %(levelname)s %(name)s [feed=%(feed_id)s article=%(article_id)s] "
               "%(message)s")


@contextmanager
def ids(feed_id: int | None = None, article_id: int | None = None) -> Iterator[None]:
    """Within this block every log record carries these ids."""
    tokens = []
    if feed_id is not None:
        tokens.append((_feed_id, _feed_id.set(feed_id)))
    if article_id is not None:
        tokens.append((_article_id, _article_id.set(article_id)))
    try:
        yield
    finally:
        for var, token in reversed(tokens):
            var.reset(token)


class IdsFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "feed_id", None) is None:
            record.feed_id = _feed_id.get()
        if getattr(record, "article_id", None) is None:
            record.article_id = _article_id.get()
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        data = {"time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S"), "level": record.levelname,
                "logger": record.name, "message": record.getMessage(),
                "feed_id": getattr(record, "feed_id", None),
                "article_id": getattr(record, "article_id", None)}
        for key in ("outcome", "new_entries", "state", "reason"):
            if hasattr(record, key):
                data[key] = getattr(record, key)
        if record.exc_info:
            data["exception"] = self.formatException(record.exc_info)
        return json.dumps(data, ensure_ascii=False)


def configure(level: str = "INFO", fmt: str = "text") -> None:
    """Route every record (ours, Celery's) through one handler on stderr."""
    from worker.outage import QuietOutages

    handler = logging.StreamHandler(sys.stderr)
    handler.addFilter(IdsFilter())
    handler.addFilter(QuietOutages())  # an outage is two lines, not a traceback per task
    handler.setFormatter(JsonFormatter() if fmt == "json" else logging.Formatter(TEXT_FORMAT))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(getattr(logging, level.upper(), logging.INFO))
    for noisy in ("httpx", "httpcore"):  # one line per request is noise
        logging.getLogger(noisy).setLevel(logging.WARNING)
