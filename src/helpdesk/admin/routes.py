"""HTML controller of the settings overview (/settings)."""

from __future__ import annotations

from typing import Any

from litestar import Request, get
from litestar.response import Template

from helpdesk.admin.layout import settings_page
from helpdesk.admin.overview import overview
from helpdesk.web.deps import CurrentViewer, DbSession


@get("/settings", include_in_schema=False, sync_to_thread=True)
def settings_index(request: Request[Any, Any, Any], db: DbSession, viewer: CurrentViewer) -> Template:
    found = overview(db, viewer)
    return settings_page(request, db, viewer, "admin/settings.html.j2", tab="overview", overview=found)


routes = [settings_index]
