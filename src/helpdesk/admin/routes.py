"""HTML controller of the settings overview (/settings)."""

from __future__ import annotations

from typing import Any

from litestar import Request, get
from litestar.response import Template

from helpdesk.admin.overview import overview
from helpdesk.tickets.workspace import console_nav
from helpdesk.web.deps import CurrentViewer, DbSession
from helpdesk.web.render import render


@get("/settings", include_in_schema=False, sync_to_thread=True)
def settings_index(request: Request[Any, Any, Any], db: DbSession, viewer: CurrentViewer) -> Template:
    return render(
        request,
        viewer,
        "admin/settings.html.j2",
        settings_tab="overview",
        overview=overview(db, viewer),
        **console_nav(db, viewer).context("settings"),
    )


routes = [settings_index]
