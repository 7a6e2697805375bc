"""Home redirect, health, readiness and metrics."""

from __future__ import annotations

from typing import Any

import anyio.to_thread
import redis
from litestar import MediaType, Request, Response, get
from litestar.response import Template
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text

from helpdesk.config import get_settings
from helpdesk.db import get_engine
from helpdesk.identity.policy import require_agent
from helpdesk.web.deps import CurrentViewer, MaybeViewer
from helpdesk.web.render import redirect, render


@get("/", include_in_schema=False, sync_to_thread=False)
def home(maybe_viewer: MaybeViewer) -> Response[Any]:
    if maybe_viewer is None:
        return redirect("/login", status_code=302)
    return redirect("/console" if maybe_viewer.is_agent else "/portal", status_code=302)


@get("/styleguide", include_in_schema=False, sync_to_thread=False)
def styleguide(request: Request[Any, Any, Any], viewer: CurrentViewer) -> Template:
    """Every UI component on one page, for design review (agents only)."""
    require_agent(viewer)
    return render(request, viewer, "web/styleguide.html.j2")


@get("/styleguide/console", include_in_schema=False, sync_to_thread=False)
def styleguide_console(request: Request[Any, Any, Any], viewer: CurrentViewer) -> Template:
    require_agent(viewer)
    sample = request.query_params.get("sample", "")
    return render(request, viewer, "web/styleguide_console.html.j2", sample=sample)


@get("/healthz", media_type=MediaType.JSON, sync_to_thread=False, tags=["ops"])
def healthz() -> dict[str, str]:
    return {"status": "ok"}


def _check_ready() -> dict[str, str]:
    checks: dict[str, str] = {}
    try:
        with get_engine().connect() as conn:
            conn.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception as exc:
        checks["database"] = f"error: {type(exc).__name__}"
    try:
        client = redis.Redis.from_url(get_settings().redis_url, socket_timeout=1, socket_connect_timeout=1)
        client.ping()
        client.close()
        checks["redis"] = "ok"
    except Exception as exc:
        checks["redis"] = f"error: {type(exc).__name__}"
    return checks


@get("/readyz", media_type=MediaType.JSON, tags=["ops"])
async def readyz() -> Response[dict[str, Any]]:
    checks = await anyio.to_thread.run_sync(_check_ready)
    ok = all(v == "ok" for v in checks.values())
    return Response(
        {"status": "ok" if ok else "unavailable", "checks": checks}, status_code=200 if ok else 503
    )


@get("/metrics", include_in_schema=False, sync_to_thread=False)
def metrics() -> Response[bytes]:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


routes = [home, styleguide, styleguide_console, healthz, readyz, metrics]
