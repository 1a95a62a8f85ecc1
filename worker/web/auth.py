"""The token that guards every page and API call when NEWSWORKER_WEB_TOKEN is set.

A client shows it as `Authorization: Bearer TOKEN`, or signs in once through the login
form, which sets a cookie holding a value derived from the token (not the token itself).
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress

COOKIE = "newsworker_session"


def is_loopback(host: str) -> bool:
    """True for addresses only this machine can reach (127.0.0.0/8, ::1, localhost)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def cookie_value(token: str) -> str:
    return hmac.new(token.encode(), b"newsworker web session", hashlib.sha256).hexdigest()


def authorized(token: str, authorization: str | None, cookie: str | None) -> bool:
    """Whether a request carrying these headers may read (always, without a token)."""
    if not token:
        return True
    scheme, _, given = (authorization or "").partition(" ")
    if scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode()):
        return True
    return bool(cookie) and hmac.compare_digest(cookie.encode(), cookie_value(token).encode())


def is_open(path: str) -> bool:
    return path == "/login" or path.startswith("/static/")


def safe_next(target: str | None) -> str:
    """Where to go after signing in: a path of this site only (no //host, no scheme)."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/"
