"""Home redirect, health, readiness and metrics."""

from __future__ import annotations

from typing import Any

import anyio.to_thread
from litestar import MediaType, Request, Response, get
from litestar.response import Template
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from helpdesk.health import check_ready
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


@get("/readyz", media_type=MediaType.JSON, tags=["ops"])
async def readyz() -> Response[dict[str, Any]]:
    checks = await anyio.to_thread.run_sync(check_ready)
    ok = all(v == "ok" for v in checks.values())
    return Response(
        {"status": "ok" if ok else "unavailable", "checks": checks}, status_code=200 if ok else 503
    )


@get("/metrics", include_in_schema=False, sync_to_thread=True)
def metrics() -> Response[bytes]:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)


routes = [home, styleguide, styleguide_console, healthz, readyz, metrics]
