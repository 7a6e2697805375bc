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

from helpdesk.admin.layout import settings_page
from helpdesk.errors import ValidationFailed
from helpdesk.identity.viewer import Viewer
from helpdesk.notifications import digests, kinds, service, webhooks
from helpdesk.notifications.models import DeliveryStatus, TeamWebhook, WebhookProvider
from helpdesk.notifications.rendering import FIELD_LABELS, TemplateSource, doc_for
from helpdesk.tickets.routes.forms import text
from helpdesk.tickets.workspace import console_nav
from helpdesk.web.deps import CurrentViewer, DbSession, FormData
from helpdesk.web.render import Flash, is_htmx, redirect, render

T = "notifications/"
NO_STORE = {"Cache-Control": "no-store"}


def _settings_page(
    request: Request[Any, Any, Any], db: Session, viewer: Viewer, template: str, **kwargs: Any
) -> Template:
    return settings_page(request, db, viewer, T + template, **kwargs)


# --- preferences -----------------------------------------------------------------------


def _preferences_page(
    request: Request[Any, Any, Any],
    db: Session,
    viewer: Viewer,
    *,
    status_code: int = 200,
    digest_form: dict[str, str] | None = None,
    digest_errors: dict[str, str] | None = None,
) -> Template:
    nav = console_nav(db, viewer).context("") if viewer.is_agent else {"active_nav": ""}
    digest: dict[str, Any] = {"allowed": digests.may_subscribe(viewer)}
    if digest["allowed"]:
        sub = digests.subscription(db, viewer)
        digest |= {
            "subscribed": sub is not None,
            "next_at": digests.next_due(sub) if sub else None,
            "form": digest_form
            or {
                "digest_hour": str(sub.hour if sub else digests.DEFAULT_HOUR),
                "digest_timezone": sub.timezone if sub else "UTC",
            },
            "errors": digest_errors or {},
            "hours": [(str(h), f"{h:02d}:00") for h in range(24)],
            "timezones": digests.timezones(),
        }
    return render(
        request,
        viewer,
        T + "preferences.html.j2",
        status_code=status_code,
        rows=service.preferences(db, viewer),
        digest=digest,
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


@post("/account/notifications/digest", include_in_schema=False, sync_to_thread=True)
def save_digest(
    request: Request[Any, Any, Any], db: DbSession, viewer: CurrentViewer, form: FormData
) -> Response[Any]:
    if text(form, "action") == "unsubscribe":
        digests.unsubscribe(db, viewer)
        return redirect(
            "/account/notifications", flash=Flash("success", "You no longer get the backlog digest.")
        )
    values = {"digest_hour": text(form, "digest_hour"), "digest_timezone": text(form, "digest_timezone")}
    try:
        sub = digests.subscribe(db, viewer, hour=values["digest_hour"], timezone=values["digest_timezone"])
    except ValidationFailed as exc:
        db.rollback()
        return _preferences_page(
            request, db, viewer, status_code=422, digest_form=values, digest_errors=exc.fields
        )
    words = f"You get the backlog digest every day at {sub.hour:02d}:00 ({sub.timezone})."
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
    rendered, preview_errors = service.preview(viewer, key, shown)
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
        context_doc=doc_for(key),
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
    rendered, errors = service.preview(viewer, kind, source)
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


# --- chat webhooks -----------------------------------------------------------------------


def _webhook_form(form: FormMultiDict) -> webhooks.WebhookForm:
    return webhooks.WebhookForm(
        team_id=text(form, "team_id"),
        provider=text(form, "provider"),
        name=text(form, "name"),
        url=text(form, "url"),
        events=tuple(v for v in form.getall("events", []) if isinstance(v, str)),
        min_priority=text(form, "min_priority") or "4",
        is_active=text(form, "is_active") == "1",
    )


def _webhook_page(
    request: Request[Any, Any, Any],
    db: Session,
    viewer: Viewer,
    hook: TeamWebhook | None,
    *,
    form: webhooks.WebhookForm | None = None,
    errors: dict[str, str] | None = None,
    status_code: int = 200,
) -> Template:
    teams = webhooks.manageable_teams(db, viewer)
    if form is None:
        form = webhooks.WebhookForm(
            team_id=str(hook.team_id if hook else (teams[0].id if teams else "")),
            provider=hook.provider.value if hook else WebhookProvider.SLACK.value,
            name=hook.name if hook else "",
            url="",
            events=tuple(hook.events) if hook else webhooks.DEFAULT_TRIGGERS,
            min_priority=str(hook.min_priority if hook else 4),
            is_active=hook.is_active if hook else True,
        )
    return _settings_page(
        request,
        db,
        viewer,
        "webhook_edit.html.j2",
        tab="webhooks",
        status_code=status_code,
        hook=hook,
        form=form,
        errors=errors or {},
        teams=[(str(t.id), t.name) for t in teams],
        providers=[(p.value, p.label) for p in WebhookProvider],
        triggers=webhooks.TRIGGERS,
        deliveries=webhooks.recent_deliveries(db, hook) if hook else [],
        mask=webhooks.mask,
    )


@get("/settings/webhooks", include_in_schema=False, sync_to_thread=True)
def webhooks_page(request: Request[Any, Any, Any], db: DbSession, viewer: CurrentViewer) -> Template:
    return _settings_page(
        request,
        db,
        viewer,
        "webhooks.html.j2",
        tab="webhooks",
        hooks=webhooks.list_webhooks(db, viewer),
        triggers={t.key: t.label for t in webhooks.TRIGGERS},
        mask=webhooks.mask,
    )


@get("/settings/webhooks/new", include_in_schema=False, sync_to_thread=True)
def webhook_new(request: Request[Any, Any, Any], db: DbSession, viewer: CurrentViewer) -> Template:
    webhooks.require_manager(db, viewer)
    return _webhook_page(request, db, viewer, None)


@post("/settings/webhooks/new", include_in_schema=False, sync_to_thread=True)
def webhook_create(
    request: Request[Any, Any, Any], db: DbSession, viewer: CurrentViewer, form: FormData
) -> Response[Any]:
    values = _webhook_form(form)
    try:
        hook = webhooks.create_webhook(db, viewer, values)
    except ValidationFailed as exc:
        db.rollback()
        return _webhook_page(request, db, viewer, None, form=values, errors=exc.fields, status_code=422)
    return redirect(f"/settings/webhooks/{hook.id}", flash=Flash("success", f"Webhook “{hook.name}” added."))


@get("/settings/webhooks/{webhook_id:int}", include_in_schema=False, sync_to_thread=True)
def webhook_edit(
    request: Request[Any, Any, Any], db: DbSession, viewer: CurrentViewer, webhook_id: FromPath[int]
) -> Template:
    return _webhook_page(request, db, viewer, webhooks.get_webhook(db, viewer, webhook_id))


@post("/settings/webhooks/{webhook_id:int}", include_in_schema=False, sync_to_thread=True)
def webhook_save(
    request: Request[Any, Any, Any],
    db: DbSession,
    viewer: CurrentViewer,
    form: FormData,
    webhook_id: FromPath[int],
) -> Response[Any]:
    values = _webhook_form(form)
    try:
        hook = webhooks.update_webhook(db, viewer, webhook_id, values)
    except ValidationFailed as exc:
        db.rollback()
        hook = webhooks.get_webhook(db, viewer, webhook_id)
        return _webhook_page(request, db, viewer, hook, form=values, errors=exc.fields, status_code=422)
    return redirect(f"/settings/webhooks/{hook.id}", flash=Flash("success", f"Webhook “{hook.name}” saved."))


@post("/settings/webhooks/{webhook_id:int}/delete", include_in_schema=False, sync_to_thread=True)
def webhook_delete(db: DbSession, viewer: CurrentViewer, webhook_id: FromPath[int]) -> Response[Any]:
    name = webhooks.delete_webhook(db, viewer, webhook_id)
    return redirect("/settings/webhooks", flash=Flash("success", f"Webhook “{name}” removed."))


@post("/settings/webhooks/{webhook_id:int}/test", include_in_schema=False, sync_to_thread=True)
def webhook_test(db: DbSession, viewer: CurrentViewer, webhook_id: FromPath[int]) -> Response[Any]:
    webhooks.send_test(db, viewer, webhook_id)
    return redirect(
        f"/settings/webhooks/{webhook_id}",
        flash=Flash("info", "Test message queued; its result appears under Recent posts."),
    )


routes = [
    preferences_page,
    save_preferences,
    save_digest,
    webhooks_page,
    webhook_new,
    webhook_create,
    webhook_edit,
    webhook_save,
    webhook_delete,
    webhook_test,
    templates_page,
    template_edit,
    template_save,
    template_preview,
    template_reset,
    mail_log,
    mail_log_entry,
]
