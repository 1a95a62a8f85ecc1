"""Errors that become data: each carries a machine-readable `reason` that is stored."""

from __future__ import annotations


class NewsworkerError(Exception):
    """Base class; `reason` is a short stable token stored with the failure."""

    reason = "error"

    def __init__(self, message: str, reason: str | None = None) -> None:
        super().__init__(message)
        if reason is not None:
            self.reason = reason

    def __str__(self) -> str:
        return f"{self.reason}: {self.args[0]}" if self.args else self.reason


class ConfigError(NewsworkerError):
    reason = "config_invalid"


class FetchError(NewsworkerError):
    """The HTTP exchange failed: network, status, size, content type, guard."""

    reason = "fetch_failed"

    def __init__(self, message: str, reason: str | None = None, status: int | None = None,
                 transient: bool = False, retry_after: float | None = None) -> None:
        super().__init__(message, reason)
        self.status = status
        self.transient = transient
        self.retry_after = retry_after


class FeedError(NewsworkerError):
    reason = "feed_invalid"


class ExtractionError(NewsworkerError):
    reason = "extraction_failed"
