"""Request-scoped dependencies: the database session, the viewer, the parsed form."""

from __future__ import annotations

import asyncio
import hmac
import logging
from collections.abc import AsyncGenerator
from typing import Any

import anyio.to_thread
from litestar import Request
from litestar.datastructures import FormMultiDict
from litestar.di import NamedDependency
from sqlalchemy.orm import Session

from helpdesk.db import new_session
from helpdesk.errors import Forbidden, Unauthenticated
from helpdesk.events.broker import take_after_commit
from helpdesk.identity import service as identity
from helpdesk.identity.viewer import Viewer

log = logging.getLogger("helpdesk.web")

# Handler parameters name their dependencies explicitly (Litestar 3 drops inferred ones).
DbSession = NamedDependency[Session]
CurrentViewer = NamedDependency[Viewer]
MaybeViewer = NamedDependency[Viewer | None]
FormData = NamedDependency[FormMultiDict]

SESSION_COOKIE = "hd_session"
ANON_CSRF_COOKIE = "hd_csrf"
CSRF_FIELD = "_csrf"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


async def provide_db() -> AsyncGenerator[Session, None]:
    """One transaction per request, committed after the response is rendered and before it is sent
    (Litestar runs dependency cleanup there), so a failed commit still turns into an error page."""
    session = new_session()
    try:
        yield session
        await anyio.to_thread.run_sync(session.commit)
    except BaseException:
        await anyio.to_thread.run_sync(session.rollback)
        raise
    finally:
        await anyio.to_thread.run_sync(session.close)
    for hook in take_after_commit(session):
        try:
            await anyio.to_thread.run_sync(hook)
        except Exception:  # e.g. Redis is down: the row is committed and a sweep picks it up
            log.exception("after-commit hook failed")


async def read_form(request: Request[Any, Any, Any]) -> FormMultiDict:
    """The parsed form, read once per request. Litestar resolves dependencies concurrently, and
    two readers of the body stream (the CSRF check and the `form` dependency) must not race."""
    lock: asyncio.Lock = request.scope.setdefault("helpdesk.form_lock", asyncio.Lock())  # type: ignore[typeddict-item]  # our own scope key
    async with lock:
        return await request.form()


async def provide_form(request: Request[Any, Any, Any]) -> FormMultiDict:
    return await read_form(request)


def _bearer(request: Request[Any, Any, Any]) -> str | None:
    auth = request.headers.get("authorization", "")
    scheme, _, token = auth.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


async def _submitted_csrf(request: Request[Any, Any, Any]) -> str:
    header = request.headers.get(CSRF_HEADER)
    if header:
        return header
    if request.content_type[0] in ("application/x-www-form-urlencoded", "multipart/form-data"):
        value = (await read_form(request)).get(CSRF_FIELD)
        return value if isinstance(value, str) else ""
    return ""


async def resolve_viewer(request: Request[Any, Any, Any], db: DbSession) -> Viewer | None:
    """Bearer token (API clients, no CSRF needed) or session cookie (browser, CSRF-checked)."""
    token = _bearer(request)
    if token is not None:
        viewer = await anyio.to_thread.run_sync(lambda: identity.viewer_for_token(db, token))
        if viewer is None:
            raise Unauthenticated("The bearer token is not valid.")
        return viewer
    cookie = request.cookies.get(SESSION_COOKIE)
    if not cookie:
        return None
    viewer = await anyio.to_thread.run_sync(lambda: identity.viewer_for_session(db, cookie))
    if viewer is None:
        return None
    if request.method not in SAFE_METHODS:
        submitted = await _submitted_csrf(request)
        if not viewer.csrf_token or not hmac.compare_digest(submitted, viewer.csrf_token):
            raise Forbidden("The form expired or did not come from this site. Reload the page and try again.")
    request.state.viewer = viewer
    return viewer


async def provide_viewer(request: Request[Any, Any, Any], db: DbSession) -> Viewer:
    viewer = await resolve_viewer(request, db)
    if viewer is None:
        raise Unauthenticated("Please sign in.")
    return viewer


async def provide_optional_viewer(request: Request[Any, Any, Any], db: DbSession) -> Viewer | None:
    return await resolve_viewer(request, db)


async def check_anonymous_csrf(request: Request[Any, Any, Any]) -> None:
    """Login CSRF: double-submit of a random cookie for forms posted before there is a session."""
    cookie = request.cookies.get(ANON_CSRF_COOKIE, "")
    submitted = await _submitted_csrf(request)
    if not cookie or not hmac.compare_digest(cookie, submitted):
        raise Forbidden("The form expired. Reload the page and try again.")
