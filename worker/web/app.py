"""The ASGI app: pages, /api/v1, the login form, security headers, the read-only store.

`create_app(settings)` builds it; `newsworker web` serves it with uvicorn.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from urllib.parse import parse_qs

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, FileSystemLoader
from sqlalchemy.orm import Session
from starlette.exceptions import HTTPException as StarletteHTTPException

from worker.settings import Settings
from worker.store.db import reading
from worker.web import auth
from worker.web.render import amount_text
from worker.web.stream import EventHub

HERE = Path(__file__).parent
# Nothing but this app's own stylesheet and images: no script at all, no other host.
CSP = ("default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
       "frame-ancestors 'none'; base-uri 'none'")
HEADERS = {"Content-Security-Policy": CSP, "X-Content-Type-Options": "nosniff",
           "Referrer-Policy": "no-referrer", "X-Frame-Options": "DENY"}


def templates() -> Environment:
    """Jinja2 with autoescape on for every template: stored strings are text, never markup."""
    env = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=True,
                      trim_blocks=True, lstrip_blocks=True)
    env.filters["short"] = lambda value: (value or "")[:16].replace("T", " ")
    env.filters["amount"] = amount_text
    return env


def create_app(settings: Settings) -> FastAPI:
    from worker.web import api, pages

    url = settings.resolved_database_url()
    hub = EventHub(url)

    @asynccontextmanager
    async def lifespan(_app: FastAPI):
        yield
        hub.close()

    app = FastAPI(title="newsworker", version=_version(), lifespan=lifespan,
                  openapi_url="/api/v1/openapi.json", docs_url=None, redoc_url=None,
                  description="Read-only access to the articles, entities, quotes, stories "
                              "and change events newsworker stored.")
    app.state.settings, app.state.database_url, app.state.hub = settings, url, hub
    app.state.templates = templates()
    app.middleware("http")(_guard)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    app.include_router(api.router)
    app.include_router(pages.router)
    app.add_api_route("/login", _login_form, methods=["GET"], include_in_schema=False)
    app.add_api_route("/login", _login, methods=["POST"], include_in_schema=False)
    app.add_exception_handler(StarletteHTTPException, _error_page)
    return app


async def _error_page(request: Request, exc: StarletteHTTPException) -> Response:
    """JSON for the API, a page for a reader."""
    if request.url.path.startswith("/api/"):
        return JSONResponse({"detail": exc.detail}, status_code=exc.status_code)
    html = request.app.state.templates.get_template("error.html").render(
        title=str(exc.status_code), status=exc.status_code, detail=exc.detail,
        path=request.url.path)
    return HTMLResponse(html, status_code=exc.status_code)


def _version() -> str:
    from worker import __version__

    return __version__


async def _guard(request: Request, call_next) -> Response:
    """Every response gets the security headers; without the token, a 401."""
    token = request.app.state.settings.web_token
    if not auth.is_open(request.url.path) and not auth.authorized(
            token, request.headers.get("authorization"), request.cookies.get(auth.COOKIE)):
        response = _unauthorized(request)
    else:
        response = await call_next(request)
    for name, value in HEADERS.items():
        response.headers.setdefault(name, value)
    return response


def _unauthorized(request: Request, error: str = "") -> Response:
    if request.url.path.startswith("/api/"):
        return JSONResponse({"detail": "a token is required: Authorization: Bearer TOKEN"},
                            status_code=401, headers={"WWW-Authenticate": "Bearer"})
    return _login_page(request, request.url.path, error, 401)


def _login_page(request: Request, target: str, error: str, status: int) -> HTMLResponse:
    html = request.app.state.templates.get_template("login.html").render(
        next=auth.safe_next(target), error=error, title="Sign in", path="/login")
    return HTMLResponse(html, status_code=status, headers={"WWW-Authenticate": "Bearer"}
                        if status == 401 else None)


async def _login_form(request: Request) -> Response:
    return _login_page(request, request.query_params.get("next", "/"), "", 200)


async def _login(request: Request) -> Response:
    form = parse_qs((await request.body()).decode("utf-8", "replace"))
    token = request.app.state.settings.web_token
    given = (form.get("token") or [""])[0]
    target = auth.safe_next((form.get("next") or ["/"])[0])
    if not token:
        return RedirectResponse(target, status_code=303)
    if not auth.authorized(token, f"Bearer {given}", None):
        return _login_page(request, target, "That token is not the right one.", 401)
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(auth.COOKIE, auth.cookie_value(token), httponly=True, samesite="strict",
                        secure=request.url.scheme == "https", path="/")
    return response


def session(request: Request) -> Iterator[Session]:
    """A read-only session for one request (a FastAPI dependency)."""
    with reading(request.app.state.database_url) as s:
        yield s
