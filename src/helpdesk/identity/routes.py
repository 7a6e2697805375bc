"""Sign in and out (local accounts)."""

from __future__ import annotations

import secrets
from typing import Any

from litestar import Request, Response, get, post
from litestar.datastructures import Cookie
from litestar.di import NamedDependency, Provide
from litestar.response import Template

from helpdesk.config import get_settings
from helpdesk.identity import service as identity
from helpdesk.web.deps import (
    ANON_CSRF_COOKIE,
    SESSION_COOKIE,
    CurrentViewer,
    DbSession,
    FormData,
    check_anonymous_csrf,
)
from helpdesk.web.render import Flash, redirect, render


def _safe_next(value: Any) -> str:
    # Only same-site relative paths: never an open redirect.
    if isinstance(value, str) and value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return "/"


def _session_cookie(value: str, max_age: int) -> Cookie:
    return Cookie(
        key=SESSION_COOKIE,
        value=value,
        max_age=max_age,
        path="/",
        httponly=True,
        samesite="lax",
        secure=get_settings().secure_cookies,
    )


def _login_page(
    request: Request[Any, Any, Any], *, error: str | None = None, email: str = "", status_code: int = 200
) -> Template:
    token = request.cookies.get(ANON_CSRF_COOKIE) or secrets.token_urlsafe(24)
    response = render(
        request,
        None,
        "identity/login.html.j2",
        status_code=status_code,
        error=error,
        email=email,
        next=_safe_next(request.query_params.get("next")),
    )
    response.context["csrf_token"] = token
    response.cookies.append(
        Cookie(
            key=ANON_CSRF_COOKIE,
            value=token,
            path="/",
            httponly=True,
            samesite="lax",
            secure=get_settings().secure_cookies,
        )
    )
    return response


@get("/login", include_in_schema=False, sync_to_thread=False)
def login_page(request: Request[Any, Any, Any]) -> Template:
    return _login_page(request)


@post(
    "/login",
    include_in_schema=False,
    sync_to_thread=True,
    dependencies={"_csrf_ok": Provide(check_anonymous_csrf)},
)
def login(
    request: Request[Any, Any, Any], db: DbSession, form: FormData, _csrf_ok: NamedDependency[None]
) -> Response[Any]:
    email = str(form.get("email", "")).strip()
    password = str(form.get("password", ""))
    user = identity.authenticate(db, email, password) if email and password else None
    if user is None:
        return _login_page(
            request, error="That email and password do not match an account.", email=email, status_code=422
        )
    new = identity.start_session(db, user, previous_token=request.cookies.get(SESSION_COOKIE))
    target = _safe_next(form.get("next"))
    if target == "/":
        target = "/console" if user.role.value != "requester" else "/portal"
    response = redirect(target)
    response.cookies.append(_session_cookie(new.token, int(identity.SESSION_LIFETIME.total_seconds())))
    response.cookies.append(Cookie(key=ANON_CSRF_COOKIE, value="", max_age=0, path="/"))
    return response


@post("/logout", include_in_schema=False, sync_to_thread=True)
def logout(request: Request[Any, Any, Any], db: DbSession, viewer: CurrentViewer) -> Response[Any]:
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        identity.end_session(db, token)
    response = redirect("/login", flash=Flash("info", "You are signed out."))
    response.cookies.append(_session_cookie("", 0))
    return response


routes = [login_page, login, logout]
