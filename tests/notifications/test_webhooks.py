"""Slack and Microsoft Teams webhooks per team: planning, posting to a real local HTTP receiver
through a real Dramatiq worker (retries, dead letters, replay), and the settings pages."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from dramatiq import Worker
from litestar.testing import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session

from helpdesk.audit.models import AdminChange
from helpdesk.cli import main as cli
from helpdesk.events.models import DeadLetter
from helpdesk.events.types import EventType
from helpdesk.identity.models import Role, Team
from helpdesk.identity.viewer import Viewer
from helpdesk.messaging import service as messaging
from helpdesk.messaging.models import Visibility
from helpdesk.notifications import actors, planning, webhooks
from helpdesk.notifications.models import DeliveryStatus, NotificationDelivery, TeamWebhook, WebhookProvider
from helpdesk.tickets import service as tickets
from helpdesk.tickets.models import Ticket
from tests.factories import Factory
from tests.notifications.conftest import HookReceiver, last_event, wait_for

Client = Callable[..., TestClient[Any]]


def add_hook(
    db: Session,
    team: Team,
    url: str,
    *,
    provider: WebhookProvider = WebhookProvider.SLACK,
    events: tuple[str, ...] = ("created", "requester_replied", "resolved"),
    min_priority: int = 4,
    active: bool = True,
) -> TeamWebhook:
    from datetime import UTC, datetime

    now = datetime.now(UTC)
    hook = TeamWebhook(
        team_id=team.id,
        provider=provider,
        name="#desk",
        url=url,
        events=list(events),
        min_priority=min_priority,
        is_active=active,
        created_at=now,
        updated_at=now,
    )
    db.add(hook)
    db.flush()
    return hook


def of_hook(hook: TeamWebhook) -> Any:
    return select(NotificationDelivery).where(NotificationDelivery.webhook_id == hook.id)


def posts(db: Session, ticket: Ticket, type: EventType) -> list[NotificationDelivery]:
    event = last_event(db, ticket.id, type)
    planning.plan(db, event)
    stmt = select(NotificationDelivery).where(
        NotificationDelivery.event_id == event.outbox_id, NotificationDelivery.webhook_id.is_not(None)
    )
    return list(db.scalars(stmt))


# --- planning -------------------------------------------------------------------------------


def test_new_ticket_of_the_team_is_planned_once_per_webhook(db: Session, factory: Factory) -> None:
    team, other = factory.team(), factory.team()
    slack = add_hook(db, team, "https://hooks.slack.test/a")
    teams = add_hook(db, team, "https://teams.test/b", provider=WebhookProvider.TEAMS)
    add_hook(db, other, "https://hooks.slack.test/other")
    add_hook(db, team, "https://hooks.slack.test/off", active=False)
    add_hook(db, team, "https://hooks.slack.test/notnew", events=("resolved",))
    requester = factory.user(name="Erin Employee")
    ticket = factory.ticket(requester, team=team, subject="VPN <drops>", priority=2)

    planned = posts(db, ticket, EventType.TICKET_CREATED)
    assert {d.webhook_id for d in planned} == {slack.id, teams.id}
    assert posts(db, ticket, EventType.TICKET_CREATED) == planned  # re-processed event: nothing new
    by_channel = {d.channel: d for d in planned}
    slack_body = webhooks_json(by_channel["slack"])
    assert slack_body["text"] == f"[{ticket.reference}] VPN <drops> — New ticket from Erin Employee"
    section = slack_body["blocks"][0]["text"]["text"]
    assert "VPN &lt;drops&gt;" in section  # Slack control characters escaped
    assert f"/console/tickets/{ticket.number}|" in section
    card = webhooks_json(by_channel["teams"])["attachments"][0]
    assert card["contentType"] == "application/vnd.microsoft.card.adaptive"
    facts = {f["title"]: f["value"] for f in card["content"]["body"][2]["facts"]}
    assert facts["Priority"] == "P2 · High"
    assert card["content"]["actions"][0]["url"].endswith(f"/console/tickets/{ticket.number}")
    assert all(d.recipient_id is None and d.status is DeliveryStatus.QUEUED for d in planned)


def webhooks_json(delivery: NotificationDelivery) -> dict[str, Any]:
    import json

    body: dict[str, Any] = json.loads(delivery.body_text)
    return body


def test_priority_threshold_and_requester_replies_without_their_text(db: Session, factory: Factory) -> None:
    team = factory.team()
    urgent_only = add_hook(db, team, "https://hooks.slack.test/p1", min_priority=1)
    everything = add_hook(db, team, "https://hooks.slack.test/all")
    requester = factory.user(name="Erin Employee")
    agent = factory.user(Role.AGENT, [team])
    ticket = factory.ticket(requester, team=team, priority=3)
    assert [d.webhook_id for d in posts(db, ticket, EventType.TICKET_CREATED)] == [everything.id]

    messaging.add_message(db, requester, ticket.id, "My password is hunter2")
    [reply] = posts(db, ticket, EventType.MESSAGE_REPLIED)
    assert "Erin Employee replied" in reply.subject
    assert "hunter2" not in reply.body_text  # chat channels get a summary, never the text
    messaging.add_message(db, agent, ticket.id, "Secret note", visibility=Visibility.INTERNAL)
    assert posts(db, ticket, EventType.NOTE_ADDED) == []
    messaging.add_message(db, agent, ticket.id, "Agent answer")
    assert posts(db, ticket, EventType.MESSAGE_REPLIED) == []  # only the requester's replies
    tickets.transition(db, agent, ticket.id, "resolved")
    assert [d.webhook_id for d in posts(db, ticket, EventType.TICKET_STATUS_CHANGED)] == [everything.id]
    assert urgent_only.id not in {d.webhook_id for d in db.scalars(select(NotificationDelivery))}


def test_transfer_posts_to_the_receiving_team(db: Session, factory: Factory) -> None:
    it, facilities = factory.team(), factory.team(name="Facilities")
    add_hook(db, it, "https://hooks.slack.test/it", events=("transferred",))
    fac_hook = add_hook(db, facilities, "https://hooks.slack.test/fac", events=("transferred",))
    agent = factory.user(Role.AGENT, [it], name="Ian Agent")
    ticket = factory.ticket(factory.user(), team=it)
    tickets.transfer(db, agent, ticket.id, facilities.id)
    [post] = posts(db, ticket, EventType.TICKET_TRANSFERRED)
    assert post.webhook_id == fac_hook.id
    assert "Transferred to Facilities by Ian Agent" in post.subject


# --- posting through a real worker ------------------------------------------------------------


def test_post_is_retried_until_the_service_accepts_it(
    committed: Session, engine: Engine, worker: Worker, receiver: HookReceiver
) -> None:
    factory = Factory(committed)
    team = factory.team()
    hook = add_hook(committed, team, receiver.url())
    ticket = factory.ticket(factory.user(), team=team, subject="Printer on fire")
    committed.commit()
    receiver.statuses = [500, 429]  # two failures, then accepted
    event = last_event(committed, ticket.id, EventType.TICKET_CREATED)
    actors.plan_notifications.send(event.outbox_id, event.type.value, event.payload)

    def delivery() -> NotificationDelivery | None:
        with Session(engine) as s:
            return s.scalars(of_hook(hook)).first()

    wait_for(lambda: (d := delivery()) is not None and d.status is DeliveryStatus.SENT)
    sent = delivery()
    assert sent is not None
    assert (sent.attempts, sent.transport, sent.last_error) == (3, "slack", None)
    [post] = receiver.received()
    assert post.path == "/services/T000/B000/XXXXSECRET"
    assert post.headers["Content-Type"] == "application/json"
    assert post.body["text"].startswith(f"[{ticket.reference}] Printer on fire")


def test_a_dead_post_is_replayed_once_the_service_is_back(
    committed: Session, engine: Engine, worker: Worker, receiver: HookReceiver, capsys: Any
) -> None:
    factory = Factory(committed)
    team = factory.team()
    hook = add_hook(committed, team, receiver.url(), provider=WebhookProvider.TEAMS)
    ticket = factory.ticket(factory.user(), team=team)
    committed.commit()
    receiver.statuses = [403, 403, 403]  # e.g. the workflow was switched off: every retry fails
    event = last_event(committed, ticket.id, EventType.TICKET_CREATED)
    actors.plan_notifications.send(event.outbox_id, event.type.value, event.payload)

    def delivery() -> NotificationDelivery:
        with Session(engine) as s:
            return s.scalars(of_hook(hook)).one()

    def planned() -> bool:
        with Session(engine) as s:
            return s.scalars(of_hook(hook)).first() is not None

    wait_for(planned)
    wait_for(lambda: delivery().status is DeliveryStatus.DEAD)
    dead = delivery()
    assert dead.attempts == 3
    assert "HTTP 403: invalid_token" in (dead.last_error or "")
    assert "127.0.0.1" not in (dead.last_error or "")  # the URL is a credential: never in errors

    def letters() -> list[DeadLetter]:
        with Session(engine) as s:
            return list(s.scalars(select(DeadLetter).where(DeadLetter.actor_name == "notifications.send")))

    wait_for(lambda: len(letters()) == 1)
    assert receiver.received() == []
    assert cli(["dlq", "replay", "--all"]) == 0
    wait_for(lambda: delivery().status is DeliveryStatus.SENT)
    actors.enqueue_send(dead.id)  # a stray duplicate changes nothing
    worker.join()
    assert len(receiver.received()) == 1
    assert delivery().attempts == 4


def test_a_removed_webhook_is_not_retried(committed: Session, engine: Engine, receiver: HookReceiver) -> None:
    factory = Factory(committed)
    team = factory.team()
    hook = add_hook(committed, team, receiver.url())
    ticket = factory.ticket(factory.user(), team=team)
    committed.commit()
    event = last_event(committed, ticket.id, EventType.TICKET_CREATED)
    with Session(engine) as s, s.begin():
        planning.plan(s, event)
        delivery_id = s.scalars(
            select(NotificationDelivery.id).where(NotificationDelivery.webhook_id == hook.id)
        ).one()
    with Session(engine) as s, s.begin():
        s.delete(s.get(TeamWebhook, hook.id))
    actors.send_notification.fn(delivery_id)  # no exception: nothing to retry
    with Session(engine) as s:
        row = s.get(NotificationDelivery, delivery_id)
        assert row is not None
        assert (row.status, row.webhook_id) == (DeliveryStatus.DEAD, None)
        assert row.last_error == "The webhook was removed; nothing to post to."
    assert receiver.received() == []


# --- settings pages -----------------------------------------------------------------------------


def form(team: Team, **over: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "team_id": str(team.id),
        "provider": "slack",
        "name": "#it-desk",
        "url": "https://hooks.slack.com/services/T1/B2/abcdefSECRET",
        "events": ["created", "reopened"],
        "min_priority": "2",
        "is_active": "1",
    }
    return {**values, **over}


def test_admin_adds_edits_tests_and_removes_a_webhook(
    app_client: Client, db: Session, factory: Factory
) -> None:
    team = factory.team(name="IT")
    admin = factory.user(Role.ADMIN)
    client = app_client(admin)
    assert "No chat webhooks yet" in client.get("/settings/webhooks").text
    created = client.post("/settings/webhooks/new", data=form(team), follow_redirects=False)
    assert created.status_code == 303
    hook = db.scalars(select(TeamWebhook)).one()
    assert (hook.team_id, hook.events, hook.min_priority) == (team.id, ["created", "reopened"], 2)
    page = client.get(created.headers["location"])
    assert "Webhook “#it-desk” added." in page.text
    listing = client.get("/settings/webhooks").text
    for html in (page.text, listing):
        assert "abcdefSECRET" not in html  # the URL is never shown again
        assert "https://hooks.slack.com/…CRET" in html

    saved = client.post(f"/settings/webhooks/{hook.id}", data=form(team, url="", name="#helpdesk"))
    assert saved.status_code == 200
    db.refresh(hook)
    assert (hook.name, hook.url) == ("#helpdesk", "https://hooks.slack.com/services/T1/B2/abcdefSECRET")

    tested = client.post(f"/settings/webhooks/{hook.id}/test")
    assert "Test message queued" in tested.text
    test_post = db.scalars(of_hook(hook)).one()
    assert test_post.kind == "webhook_test"
    assert "Test message sent by" in test_post.subject

    changes = db.scalars(select(AdminChange).where(AdminChange.entity == "team_webhook")).all()
    assert [c.action for c in changes] == ["create", "update"]
    assert all("SECRET" not in str(c.before) + str(c.after) for c in changes)

    removed = client.post(f"/settings/webhooks/{hook.id}/delete")
    assert "Webhook “#helpdesk” removed." in removed.text
    assert db.scalars(select(TeamWebhook)).all() == []


def test_bad_input_shows_field_errors_and_saves_nothing(
    app_client: Client, db: Session, factory: Factory
) -> None:
    team = factory.team()
    client = app_client(factory.user(Role.ADMIN))
    bad = form(team, url="http://hooks.slack.com/x", events=[], name="", provider="irc")
    response = client.post("/settings/webhooks/new", data=bad)
    assert response.status_code == 422
    for message in (
        "The URL must use https://.",
        "Choose at least one event to post.",
        "Give the webhook a name",
        "Choose Slack or Microsoft Teams.",
    ):
        assert message in response.text
    assert db.scalars(select(TeamWebhook)).all() == []


def test_leads_manage_their_own_teams_only(app_client: Client, db: Session, factory: Factory) -> None:
    mine, theirs = factory.team(name="Mine"), factory.team(name="Theirs")
    lead = factory.user(Role.LEAD, [mine])
    other_hook = add_hook(db, theirs, "https://hooks.slack.test/theirs")
    client = app_client(lead)
    assert client.get("/settings").status_code == 200
    new_page = client.get("/settings/webhooks/new").text
    assert "Mine" in new_page
    assert "Theirs" not in new_page
    assert client.post("/settings/webhooks/new", data=form(theirs)).status_code == 422
    assert client.get(f"/settings/webhooks/{other_hook.id}").status_code == 404
    assert client.post(f"/settings/webhooks/{other_hook.id}/delete").status_code == 404
    assert client.post(f"/settings/webhooks/{other_hook.id}/test").status_code == 404
    assert client.post("/settings/webhooks/new", data=form(mine), follow_redirects=False).status_code == 303


def test_agents_and_requesters_cannot_reach_settings(app_client: Client, factory: Factory) -> None:
    team = factory.team()
    for viewer in (factory.user(Role.AGENT, [team]), factory.user()):
        client = app_client(viewer)
        for path in ("/settings", "/settings/webhooks", "/settings/webhooks/new"):
            assert client.get(path).status_code == 404, (viewer.role, path)
        assert client.post("/settings/webhooks/new", data=form(team)).status_code == 404


def test_settings_overview_shows_background_health_to_admins(app_client: Client, factory: Factory) -> None:
    admin: Viewer = factory.user(Role.ADMIN)
    page = app_client(admin).get("/settings")
    assert page.status_code == 200
    for text in ("Notification templates", "Mail log", "Chat webhooks", "Background processes"):
        assert text in page.text
    assert "notifications.digests" in page.text
    assert "Never" in page.text  # no scheduler has run in this test database
    assert webhooks.mask("https://hooks.slack.com/services/T1/B2/abcd") == "https://hooks.slack.com/…abcd"
