"""The pages: preferences (anyone signed in), templates and mail log (admins only)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from litestar.testing import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from helpdesk.audit.models import AdminChange
from helpdesk.events.types import EventType
from helpdesk.identity.models import Role
from helpdesk.notifications import planning
from helpdesk.notifications.defaults import default_source
from helpdesk.notifications.models import NotificationDelivery, NotificationPreference, NotificationTemplate
from tests.factories import Factory
from tests.notifications.conftest import last_event

Client = Callable[..., TestClient[Any]]


def form(source: dict[str, str]) -> dict[str, str]:
    return dict(source)


def test_preferences_page_saves_with_a_redirect_and_flash(
    app_client: Client, db: Session, factory: Factory
) -> None:
    requester = factory.user()
    client = app_client(requester)
    page = client.get("/account/notifications")
    assert page.status_code == 200
    assert "Reply to your request" in page.text
    assert "Assigned to you" not in page.text  # agent mail is not offered to requesters
    assert 'value="request_received" checked disabled' in page.text
    response = client.post("/account/notifications", data={}, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/account/notifications"
    stored = db.scalars(
        select(NotificationPreference).where(NotificationPreference.user_id == requester.id)
    ).all()
    assert {(p.kind, p.enabled) for p in stored} == {("public_reply", False)}
    after = client.get("/account/notifications")
    assert "1 kind(s) of mail turned off" in after.text
    assert 'value="public_reply">' in after.text  # unchecked now


def test_preferences_need_a_csrf_token(app_client: Client, factory: Factory) -> None:
    client = app_client(factory.user())
    del client.headers["X-CSRF-Token"]
    assert client.post("/account/notifications", data={"enabled": "public_reply"}).status_code == 403


def test_agents_see_their_own_mail_kinds_in_the_console(app_client: Client, factory: Factory) -> None:
    agent = factory.user(Role.AGENT, [factory.team()])
    page = app_client(agent).get("/account/notifications")
    assert page.status_code == 200
    assert "Mentioned in a note" in page.text
    assert 'class="console' in page.text


@pytest.mark.parametrize(
    "path",
    [
        "/settings/notifications",
        "/settings/notifications/public_reply",
        "/settings/mail-log",
    ],
)
def test_settings_pages_are_for_admins(app_client: Client, factory: Factory, path: str) -> None:
    team = factory.team()
    assert app_client(factory.user(Role.ADMIN)).get(path).status_code == 200
    assert app_client(factory.user(Role.LEAD, [team])).get(path).status_code == 403
    assert app_client(factory.user(Role.AGENT, [team])).get(path).status_code == 403
    assert app_client(factory.user()).get(path).status_code == 403
    anonymous = app_client().get(path, follow_redirects=False)
    assert anonymous.status_code == 303
    assert anonymous.headers["location"].startswith("/login")


def test_admin_writes_are_refused_to_agents(app_client: Client, db: Session, factory: Factory) -> None:
    agent = app_client(factory.user(Role.AGENT, [factory.team()]))
    source = default_source("public_reply").as_dict()
    assert agent.post("/settings/notifications/public_reply", data=source).status_code == 403
    assert agent.post("/settings/notifications/public_reply/reset").status_code == 403
    preview = agent.post(
        "/settings/notifications/public_reply/preview", data=source, headers={"HX-Request": "true"}
    )
    assert preview.status_code == 403
    assert not db.scalars(select(AdminChange)).first()


def test_unknown_template_is_404(app_client: Client, factory: Factory) -> None:
    assert app_client(factory.user(Role.ADMIN)).get("/settings/notifications/nope").status_code == 404


def test_saving_a_template_is_audited_and_used_for_new_mail(
    app_client: Client, db: Session, factory: Factory
) -> None:
    admin = factory.user(Role.ADMIN)
    client = app_client(admin)
    source = default_source("request_received").as_dict()
    source["subject"] = "Got it: {{ ticket.reference }} ({{ ticket.subject }})"
    response = client.post("/settings/notifications/request_received", data=source, follow_redirects=False)
    assert response.status_code == 303
    row = db.get(NotificationTemplate, "request_received")
    assert row is not None
    assert row.subject == source["subject"]
    assert row.updated_by_id == admin.id
    change = db.scalars(select(AdminChange)).one()
    assert (change.actor_id, change.entity, change.entity_id, change.action) == (
        admin.id,
        "notification_template",
        "request_received",
        "update",
    )
    assert change.before == {"subject": default_source("request_received").subject}
    assert change.after == {"subject": source["subject"]}
    page = client.get("/settings/notifications/request_received")
    assert "changed subject" in page.text
    listing = client.get("/settings/notifications")
    assert "Customized" in listing.text

    requester = factory.user()
    ticket = factory.ticket(requester, team=factory.team(), subject="Broken chair")
    planning.plan(db, last_event(db, ticket.id, EventType.TICKET_CREATED))
    mail = db.scalars(select(NotificationDelivery).where(NotificationDelivery.ticket_id == ticket.id)).one()
    assert mail.subject == f"Got it: {ticket.reference} (Broken chair)"

    reset = client.post("/settings/notifications/request_received/reset", follow_redirects=False)
    assert reset.status_code == 303
    db.expire_all()
    assert (
        db.get(NotificationTemplate, "request_received").subject == default_source("request_received").subject
    )  # type: ignore[union-attr]
    assert [c.action for c in db.scalars(select(AdminChange).order_by(AdminChange.id))] == ["update", "reset"]


def test_a_syntax_error_is_refused_at_save_with_its_line_number(
    app_client: Client, db: Session, factory: Factory
) -> None:
    client = app_client(factory.user(Role.ADMIN))
    source = default_source("public_reply").as_dict()
    source["body_text"] = "Hello\r\n{{ recipient.name }\r\nBye"
    response = client.post("/settings/notifications/public_reply", data=source)
    assert response.status_code == 422
    assert 'aria-invalid="true"' in response.text
    assert "Line 2: unexpected &#39;}&#39;" in response.text
    assert "{{ recipient.name }" in response.text  # the admin's text is kept in the form
    row = db.get(NotificationTemplate, "public_reply")
    assert row is not None
    assert row.body_text == default_source("public_reply").body_text
    assert not db.scalars(select(AdminChange)).first()


def test_live_preview_renders_the_sample_ticket(app_client: Client, factory: Factory) -> None:
    client = app_client(factory.user(Role.ADMIN))
    source = default_source("public_reply").as_dict()
    source["subject"] = "Preview {{ ticket.reference }} for {{ recipient.name }}"
    source["body_html"] = "<p>{{ message.body }}</p><script>alert(1)</script>"
    fragment = client.post(
        "/settings/notifications/public_reply/preview", data=source, headers={"HX-Request": "true"}
    )
    assert fragment.status_code == 200
    assert "<html" not in fragment.text.split("srcdoc")[0]  # a fragment, not a page
    assert "Preview HD-1042 for Erin Employee" in fragment.text
    # The HTML sits in a sandboxed iframe, escaped into its srcdoc attribute.
    assert 'sandbox=""' in fragment.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in fragment.text
    broken = client.post(
        "/settings/notifications/public_reply/preview",
        data={**source, "subject": "{% if %}"},
        headers={"HX-Request": "true"},
    )
    assert broken.status_code == 200
    assert "Subject: Line 1:" in broken.text
    # Without JavaScript the Preview button shows the whole edit page with the preview.
    page = client.post("/settings/notifications/public_reply/preview", data=source)
    assert page.status_code == 200
    assert "<html" in page.text
    assert "Preview HD-1042" in page.text


def test_mail_log_lists_newest_first_with_keyset_pages_and_shows_log_bodies(
    app_client: Client, db: Session, factory: Factory, monkeypatch: pytest.MonkeyPatch
) -> None:
    from helpdesk.notifications import service

    monkeypatch.setattr(service, "MAIL_LOG_PAGE", 2)
    team = factory.team()
    requester = factory.user()
    created = []
    for n in range(3):
        ticket = factory.ticket(requester, team=team, subject=f"Subject number {n}")
        created += planning.plan(db, last_event(db, ticket.id, EventType.TICKET_CREATED))
    client = app_client(factory.user(Role.ADMIN))
    first = client.get("/settings/mail-log")
    assert first.status_code == 200
    assert first.text.index("Subject number 2") < first.text.index("Subject number 1")
    assert "Subject number 0" not in first.text
    assert f"/settings/mail-log?before={created[1]}" in first.text
    assert "Queued" in first.text
    older = client.get(
        f"/settings/mail-log?before={created[1]}",
        headers={"HX-Request": "true", "HX-Target": "load-more-row"},
    )
    assert "Subject number 0" in older.text
    assert "<html" not in older.text
    assert "Subject number 1" not in older.text
    only_sent = client.get("/settings/mail-log?status=sent")
    assert "No mail with this status" in only_sent.text

    detail = client.get(f"/settings/mail-log/{created[0]}")
    assert detail.status_code == 200
    assert "Message-ID" in detail.text
    assert "&lt;hd-" in detail.text
    assert 'sandbox="" srcdoc="' in detail.text  # the HTML body, sandboxed
    assert "We received your request" in detail.text  # the text body
    assert client.get("/settings/mail-log/999999999").status_code == 404
    agent = app_client(factory.user(Role.AGENT, [team]))
    assert agent.get(f"/settings/mail-log/{created[0]}").status_code == 403


def test_mail_sent_by_smtp_shows_headers_only(app_client: Client, db: Session, factory: Factory) -> None:
    ticket = factory.ticket(factory.user(), team=factory.team())
    [delivery_id] = planning.plan(db, last_event(db, ticket.id, EventType.TICKET_CREATED))
    row = db.get(NotificationDelivery, delivery_id)
    assert row is not None
    row.transport = "smtp"
    db.flush()
    page = app_client(factory.user(Role.ADMIN)).get(f"/settings/mail-log/{delivery_id}")
    assert "bodies are not shown here" in page.text
    assert "srcdoc" not in page.text
