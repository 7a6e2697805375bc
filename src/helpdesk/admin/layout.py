"""The frame every settings page shares: the console layout with Settings active, and the tabs."""

from __future__ import annotations

from typing import Any

from litestar import Request
from litestar.response import Template
from sqlalchemy.orm import Session

from helpdesk.identity.viewer import Viewer
from helpdesk.tickets.workspace import console_nav
from helpdesk.web.render import render


def settings_page(
    request: Request[Any, Any, Any],
    db: Session,
    viewer: Viewer,
    template: str,
    *,
    tab: str,
    status_code: int = 200,
    **context: Any,
) -> Template:
    """A page of the settings area; `tab` marks its tab ("overview", "templates", ...)."""
    return render(
        request,
        viewer,
        template,
        status_code=status_code,
        settings_tab=tab,
        **console_nav(db, viewer).context("settings"),
        **context,
    )
