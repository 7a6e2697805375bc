"""Rendering pages and fragments with the context every template expects."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Literal
from urllib.parse import quote, unquote

from litestar import Request, Response
from litestar.datastructures import Cookie
from litestar.response import Redirect, Template

from helpdesk.identity.viewer import Viewer

FLASH_COOKIE = "hd_flash"


@dataclass(frozen=True)
class Flash:
    kind: str  # success | error | info
    text: str


def is_htmx(request: Request[Any, Any, Any]) -> bool:
    return request.headers.get("hx-request") == "true"


def is_boosted_or_full(request: Request[Any, Any, Any]) -> bool:
    return not is_htmx(request) or request.headers.get("hx-boosted") == "true"


def _read_flashes(request: Request[Any, Any, Any]) -> list[Flash]:
    raw = request.cookies.get(FLASH_COOKIE)
    if not raw:
        return []
    try:
        items = json.loads(unquote(raw))
        return [Flash(str(k), str(t)[:300]) for k, t in items][:5]
    except (ValueError, TypeError):
        return []


def render(
    request: Request[Any, Any, Any],
    viewer: Viewer | None,
    template: str,
    *,
    status_code: int = 200,
    flashes: list[Flash] | None = None,
    headers: dict[str, str] | None = None,
    **context: Any,
) -> Template:
    shown = _read_flashes(request) + (flashes or [])
    response = Template(
        template_name=template,
        context={
            "viewer": viewer,
            "csrf_token": viewer.csrf_token if viewer else request.cookies.get("hd_csrf", ""),
            "flashes": shown,
            "request_path": request.url.path,
            "query": request.query_params,
            **context,
        },
        status_code=status_code,
        headers=headers,
    )
    if request.cookies.get(FLASH_COOKIE):
        response.cookies.append(Cookie(key=FLASH_COOKIE, value="", max_age=0, path="/"))
    return response


def redirect(path: str, *, flash: Flash | None = None, status_code: Literal[302, 303] = 303) -> Redirect:
    response = Redirect(path=path, status_code=status_code)
    if flash is not None:
        value = quote(json.dumps([[flash.kind, flash.text]]))
        response.cookies.append(
            Cookie(key=FLASH_COOKIE, value=value, path="/", httponly=True, samesite="lax")
        )
    return response


def hx_redirect(path: str) -> Response[str]:
    """For htmx requests that should end on another page: a client-side navigation."""
    return Response(content="", status_code=200, headers={"HX-Redirect": path})
