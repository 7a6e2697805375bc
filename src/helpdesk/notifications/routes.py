"""HTML controllers: notification preferences (/account/notifications, anyone signed in) and
the admin settings pages for templates (/settings/notifications) and the mail log
(/settings/mail-log). Thin: parse the form, call the service, render or redirect."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get, post
from litestar.datastructures import FormMultiDict
from litestar.params import FromPath
from litestar.response import Template
from sqlalchemy.orm import Session

from helpdesk.errors import ValidationFailed
from helpdesk.identity.viewer import Viewer
from helpdesk.notifications import kinds, service
from helpdesk.notifications.models import DeliveryStatus
from helpdesk.notifications.rendering import CONTEXT_DOC, FIELD_LABELS, TemplateSource
from helpdesk.tickets.routes.forms import text
from helpdesk.tickets.workspace import console_nav
from helpdesk.web.deps import CurrentViewer, DbSession, FormData
from helpdesk.web.render import Flash, is_htmx, redirect, render

T = "notifications/"
NO_STORE = {"Cache-Control": "no-store"}


def _settings_page(
    request: Request[Any, Any, Any],
    db: Session,
    viewer: Viewer,
    template: str,
    *,
    tab: str,
    status_code: int = 200,
    **context: Any,
) -> Template:
    """A page of the admin settings area, inside the console layout."""
    return render(
        request,
        viewer,
        T + template,
        status_code=status_code,
        settings_tab=tab,
        **console_nav(db, viewer).context("settings"),
        **context,
    )


# --- preferences -----------------------------------------------------------------------


def _preferences_page(
    request: Request[Any, Any, Any], db: Session, viewer: Viewer, *, status_code: int = 200
) -> Template:
    nav = console_nav(db, viewer).context("") if viewer.is_agent else {"active_nav": ""}
    return render(
        request,
        viewer,
        T + "preferences.html.j2",
        status_code=status_code,
        rows=service.preferences(db, viewer),
        **nav,
    )


@get("/account/notifications", include_in_schema=False, sync_to_thread=True)
def preferences_page(request: Request[Any, Any, Any], db: DbSession, viewer: CurrentViewer) -> Template:
    return _preferences_page(request, db, viewer)


@post("/account/notifications", include_in_schema=False, sync_to_thread=True)
def save_preferences(db: DbSession, viewer: CurrentViewer, form: FormData) -> Response[Any]:
    enabled = {v for v in form.getall("enabled", []) if isinstance(v, str) and v in kinds.BY_KEY}
    off = service.save_preferences(db, viewer, enabled)
    words = "You get every notification." if off == 0 else f"Saved. {off} kind(s) of mail turned off."
    return redirect("/account/notifications", flash=Flash("success", words))


# --- templates -------------------------------------------------------------------------


@get("/settings/notifications", include_in_schema=False, sync_to_thread=True)
def templates_page(request: Request[Any, Any, Any], db: DbSession, viewer: CurrentViewer) -> Template:
    views = service.list_templates(db, viewer)
    return _settings_page(request, db, viewer, "templates.html.j2", tab="templates", templates=views)


def _source(form: FormMultiDict) -> TemplateSource:
    # Browsers send CRLF line ends from textareas; store what the files use.
    def field(name: str) -> str:
        return text(form, name).replace("\r\n", "\n")

    return TemplateSource(
        subject=field("subject"), body_text=field("body_text"), body_html=field("body_html")
    )


def _edit_page(
    request: Request[Any, Any, Any],
    db: Session,
    viewer: Viewer,
    key: str,
    *,
    source: TemplateSource | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Template:
    view = service.get_template(db, viewer, key)
    shown = source or view.source
    rendered, preview_errors = service.preview(viewer, shown)
    return _settings_page(
        request,
        db,
        viewer,
        "template_edit.html.j2",
        tab="templates",
        status_code=status_code,
        view=view,
        source=shown,
        errors=errors or {},
        rendered=rendered,
        preview_errors=preview_errors,
        context_doc=CONTEXT_DOC,
        field_labels=FIELD_LABELS,
        history=service.template_history(db, viewer, key),
    )


@get("/settings/notifications/{kind:str}", include_in_schema=False, sync_to_thread=True)
def template_edit(
    request: Request[Any, Any, Any], db: DbSession, viewer: CurrentViewer, kind: FromPath[str]
) -> Template:
    return _edit_page(request, db, viewer, kind)


@post("/settings/notifications/{kind:str}", include_in_schema=False, sync_to_thread=True)
def template_save(
    request: Request[Any, Any, Any], db: DbSession, viewer: CurrentViewer, form: FormData, kind: FromPath[str]
) -> Response[Any]:
    source = _source(form)
    try:
        service.save_template(db, viewer, kind, source)
    except ValidationFailed as exc:
        db.rollback()
        return _edit_page(request, db, viewer, kind, source=source, errors=exc.fields, status_code=422)
    label = kinds.kind(kind).label
    return redirect(f"/settings/notifications/{kind}", flash=Flash("success", f"Template “{label}” saved."))


@post("/settings/notifications/{kind:str}/preview", include_in_schema=False, sync_to_thread=True)
def template_preview(
    request: Request[Any, Any, Any], db: DbSession, viewer: CurrentViewer, form: FormData, kind: FromPath[str]
) -> Template:
    """The live preview (htmx, as the admin types); without JavaScript, the whole edit page."""
    source = _source(form)
    if not is_htmx(request):
        return _edit_page(request, db, viewer, kind, source=source)
    rendered, errors = service.preview(viewer, source)
    return render(
        request,
        viewer,
        T + "_preview.html.j2",
        headers=NO_STORE,
        rendered=rendered,
        preview_errors=errors,
        field_labels=FIELD_LABELS,
    )


@post("/settings/notifications/{kind:str}/reset", include_in_schema=False, sync_to_thread=True)
def template_reset(db: DbSession, viewer: CurrentViewer, kind: FromPath[str]) -> Response[Any]:
    service.reset_template(db, viewer, kind)
    label = kinds.kind(kind).label
    return redirect(
        f"/settings/notifications/{kind}", flash=Flash("success", f"Template “{label}” reset to the default.")
    )


# --- mail log --------------------------------------------------------------------------


@get("/settings/mail-log", include_in_schema=False, sync_to_thread=True)
def mail_log(request: Request[Any, Any, Any], db: DbSession, viewer: CurrentViewer) -> Template:
    raw_before = request.query_params.get("before", "")
    before = int(raw_before) if raw_before.isdigit() and len(raw_before) < 18 else None
    raw_status = request.query_params.get("status", "")
    status = DeliveryStatus(raw_status) if raw_status in DeliveryStatus._value2member_map_ else None
    page = service.mail_log(db, viewer, before=before, status=status)
    more_url = None
    if page.next_before is not None:
        more_url = f"/settings/mail-log?before={page.next_before}" + (
            f"&status={status.value}" if status else ""
        )
    context: dict[str, Any] = {
        "page": page,
        "status": status,
        "more_url": more_url,
        "statuses": list(DeliveryStatus),
    }
    if is_htmx(request) and request.headers.get("hx-target") == "load-more-row":
        return render(request, viewer, T + "_mail_rows.html.j2", headers=NO_STORE, **context)
    return _settings_page(
        request,
        db,
        viewer,
        "mail_log.html.j2",
        tab="mail-log",
        counts=service.mail_log_counts(db, viewer),
        transport=service.current_transport_name(),
        **context,
    )


@get("/settings/mail-log/{delivery_id:int}", include_in_schema=False, sync_to_thread=True)
def mail_log_entry(
    request: Request[Any, Any, Any], db: DbSession, viewer: CurrentViewer, delivery_id: FromPath[int]
) -> Template:
    entry = service.mail_log_entry(db, viewer, delivery_id)
    return _settings_page(
        request,
        db,
        viewer,
        "mail_entry.html.j2",
        tab="mail-log",
        d=entry,
        show_bodies=service.bodies_visible(entry),
        kind=kinds.BY_KEY.get(entry.kind),
    )


routes = [
    preferences_page,
    save_preferences,
    templates_page,
    template_edit,
    template_save,
    template_preview,
    template_reset,
    mail_log,
    mail_log_entry,
]
