"""One exception handler: JSON for the API, a toast for htmx, a page for everything else."""

from __future__ import annotations

import logging
from typing import Any
from urllib.parse import quote

from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.response import Redirect, Template
from sqlalchemy.exc import DataError as DBAPIDataError

from helpdesk.errors import DomainError
from helpdesk.web.render import is_htmx

log = logging.getLogger("helpdesk.web")

_HTTP_CODES = {
    400: "bad_request",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    429: "rate_limited",
}


def _classify(exc: Exception) -> tuple[int, str, str, dict[str, str]]:
    if isinstance(exc, DomainError):
        return exc.status_code, exc.code, exc.detail, exc.fields
    if isinstance(exc, UnicodeDecodeError):
        return 400, "invalid_request", "The request body is not valid UTF-8.", {}
    if isinstance(exc, DBAPIDataError):
        # A value the database cannot hold (NUL in text, a number out of range) slipped past
        # validation: still the client's input, so a 400, and the transaction is rolled back.
        log.warning("database refused a value: %s", type(exc.orig).__name__)
        return 400, "invalid_request", "The request contains a value that cannot be stored.", {}
    if isinstance(exc, ValidationException):
        detail = exc.detail
        extra: Any = exc.extra
        if isinstance(extra, list) and extra:
            parts = [
                f"{e.get('key', '')}: {e.get('message', '')}".strip(": ")
                for e in extra
                if isinstance(e, dict)
            ]
            detail = "; ".join(p for p in parts if p) or detail
        return 400, "invalid_request", detail, {}
    if isinstance(exc, HTTPException):
        code = _HTTP_CODES.get(exc.status_code, "error" if exc.status_code >= 500 else "bad_request")
        return exc.status_code, code, exc.detail, {}
    log.exception("unhandled error", exc_info=exc)
    return 500, "internal_error", "Something went wrong on our side. It has been logged.", {}


def handle_exception(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    status, code, detail, fields = _classify(exc)
    if request.url.path.startswith("/api/"):
        body: dict[str, Any] = {"error": code, "detail": detail}
        if fields:
            body["fields"] = fields
        return Response(body, status_code=status, media_type=MediaType.JSON)
    if status == 401:
        target = "/login?next=" + quote(
            request.url.path + (f"?{request.url.query}" if request.url.query else "")
        )
        if is_htmx(request):
            return Response("", status_code=200, headers={"HX-Redirect": target})
        return Redirect(path=target, status_code=303)
    if is_htmx(request):
        return Template(
            template_name="_components/toast.html.j2",
            context={"kind": "error", "text": detail},
            status_code=status,
            headers={"HX-Retarget": "#toasts", "HX-Reswap": "beforeend"},
        )
    viewer = getattr(request.state, "viewer", None)
    titles = {403: "Not allowed", 404: "Not found", 409: "Conflict", 412: "Changed meanwhile"}
    return Template(
        template_name="web/error.html.j2",
        context={
            "status_code": status,
            "title": titles.get(status, "Something went wrong" if status >= 500 else "Request problem"),
            "detail": detail,
            "viewer": viewer,
            "csrf_token": viewer.csrf_token if viewer else "",
            "flashes": [],
        },
        status_code=status,
    )
