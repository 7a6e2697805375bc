"""Notification use cases for people: admins edit templates (audited) and read the mail log;
everyone chooses which non-essential mails they get."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from helpdesk.audit.models import AdminChange
from helpdesk.audit.service import record_admin_change
from helpdesk.clock import Clock, system_clock
from helpdesk.errors import NotFound, ValidationFailed
from helpdesk.identity.policy import require_admin
from helpdesk.identity.viewer import Viewer
from helpdesk.notifications import kinds
from helpdesk.notifications.defaults import all_defaults, default_source
from helpdesk.notifications.kinds import Kind
from helpdesk.notifications.models import DeliveryStatus, NotificationDelivery, NotificationTemplate
from helpdesk.notifications.rendering import FIELDS, Rendered, TemplateSource, render_sample
from helpdesk.notifications.repository import DeliveryPage, NotificationRepository
from helpdesk.notifications.transports import transport_from_settings

AUDIT_ENTITY = "notification_template"
MAIL_LOG_PAGE = 50


@dataclass(frozen=True)
class TemplateView:
    kind: Kind
    source: TemplateSource
    is_default: bool
    updated_at: datetime | None
    updated_by: str | None


def _kind(key: str) -> Kind:
    if key not in kinds.BY_KEY:
        raise NotFound("No such notification template.")
    return kinds.kind(key)


def _source(row: NotificationTemplate) -> TemplateSource:
    return TemplateSource(subject=row.subject, body_text=row.body_text, body_html=row.body_html)


def ensure_templates(session: Session, *, clock: Clock = system_clock) -> None:
    """Seed rows for kinds that have none yet (a kind added after the migration)."""
    repo = NotificationRepository(session)
    existing = repo.templates()
    now = clock()
    repo.insert_missing_templates(
        [
            {"kind": key, **source.as_dict(), "updated_at": now}
            for key, source in all_defaults().items()
            if key not in existing
        ]
    )


def list_templates(session: Session, viewer: Viewer) -> list[TemplateView]:
    require_admin(viewer)
    ensure_templates(session)
    rows = NotificationRepository(session).templates()
    defaults = all_defaults()
    views = []
    for kind in kinds.KINDS:
        row = rows[kind.key]
        source = _source(row)
        views.append(
            TemplateView(
                kind=kind,
                source=source,
                is_default=source == defaults[kind.key],
                updated_at=row.updated_at,
                updated_by=row.updated_by.name if row.updated_by else None,
            )
        )
    return views


def get_template(session: Session, viewer: Viewer, key: str) -> TemplateView:
    _kind(key)
    return next(v for v in list_templates(session, viewer) if v.kind.key == key)


def template_history(session: Session, viewer: Viewer, key: str) -> list[AdminChange]:
    require_admin(viewer)
    return NotificationRepository(session).template_changes(_kind(key).key)


def _write(
    session: Session, viewer: Viewer, key: str, source: TemplateSource, action: str, clock: Clock
) -> NotificationTemplate:
    require_admin(viewer)
    kind = _kind(key)
    errors = render_sample(source, kind.key)[1]
    if errors:
        raise ValidationFailed("The template has errors; nothing was saved.", fields=errors)
    ensure_templates(session, clock=clock)
    repo = NotificationRepository(session)
    row = repo.lock_template(kind.key)
    assert row is not None  # ensure_templates just seeded it
    before = _source(row).as_dict()
    if before == source.as_dict():
        return row
    now = clock()
    row.subject, row.body_text, row.body_html = source.subject, source.body_text, source.body_html
    row.updated_at = now
    row.updated_by_id = viewer.id
    changed = {f: source.field(f) for f in FIELDS if before[f] != source.field(f)}
    record_admin_change(
        session,
        actor_id=viewer.id,
        entity=AUDIT_ENTITY,
        entity_id=kind.key,
        action=action,
        before={f: before[f] for f in changed},
        after=changed,
        at=now,
    )
    return row


def save_template(
    session: Session, viewer: Viewer, key: str, source: TemplateSource, *, clock: Clock = system_clock
) -> NotificationTemplate:
    """Refuses a template that does not compile (field errors with the line number), uses an
    unknown variable or breaks the sandbox; writes the change to the admin audit log."""
    return _write(session, viewer, key, source, "update", clock)


def reset_template(
    session: Session, viewer: Viewer, key: str, *, clock: Clock = system_clock
) -> NotificationTemplate:
    return _write(session, viewer, key, default_source(_kind(key).key), "reset", clock)


def preview(viewer: Viewer, key: str, source: TemplateSource) -> tuple[Rendered | None, dict[str, str]]:
    require_admin(viewer)
    return render_sample(source, _kind(key).key)


# --- preferences ---------------------------------------------------------------------


@dataclass(frozen=True)
class PreferenceRow:
    kind: Kind
    enabled: bool


def preferences(session: Session, viewer: Viewer) -> list[PreferenceRow]:
    stored = NotificationRepository(session).preferences(viewer.id)
    return [
        PreferenceRow(k, True if k.essential else stored.get(k.key, True))
        for k in kinds.kinds_for(viewer.is_agent)
    ]


def save_preferences(session: Session, viewer: Viewer, enabled: set[str]) -> int:
    """Store the choice for every kind the user may turn off; essential kinds stay on.
    Returns how many kinds are now off."""
    repo = NotificationRepository(session)
    off = 0
    for k in kinds.kinds_for(viewer.is_agent):
        if k.essential:
            continue
        repo.set_preference(viewer.id, k.key, k.key in enabled)
        off += k.key not in enabled
    return off


# --- mail log --------------------------------------------------------------------------


def mail_log(
    session: Session, viewer: Viewer, *, before: int | None = None, status: DeliveryStatus | None = None
) -> DeliveryPage:
    require_admin(viewer)
    return NotificationRepository(session).page(before=before, limit=MAIL_LOG_PAGE, status=status)


def mail_log_counts(session: Session, viewer: Viewer) -> dict[str, int]:
    require_admin(viewer)
    return NotificationRepository(session).status_counts()


def mail_log_entry(session: Session, viewer: Viewer, delivery_id: int) -> NotificationDelivery:
    require_admin(viewer)
    found = NotificationRepository(session).delivery(delivery_id)
    if found is None:
        raise NotFound("No such delivery.")
    return found


def bodies_visible(delivery: NotificationDelivery) -> bool:
    """Bodies are shown for mail kept by the log transport (sent through it, or not sent yet
    while no SMTP server is configured); mail that left by SMTP shows its headers only."""
    if delivery.transport is not None:
        return delivery.transport == "log"
    return transport_from_settings().name == "log"


def current_transport_name() -> str:
    return transport_from_settings().name
