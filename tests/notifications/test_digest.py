"""The daily backlog digest for team leads: due at the lead's hour in their time zone, one per
lead per local day even when several schedulers plan at once, with the backlog's figures."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from litestar.testing import TestClient
from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

from helpdesk.errors import ValidationFailed
from helpdesk.identity.models import Role
from helpdesk.notifications import digests
from helpdesk.notifications.models import DigestSubscription, NotificationDelivery
from helpdesk.tickets import service as tickets
from helpdesk.tickets.models import Ticket
from tests.factories import Factory

Client = Callable[..., TestClient[Any]]
# 27 Nov 2026: Berlin is UTC+1, so 07:00 there is 06:00 UTC.
BEFORE = datetime(2026, 11, 27, 5, 59, tzinfo=UTC)
AFTER = datetime(2026, 11, 27, 6, 1, tzinfo=UTC)


def digests_of(db: Session, user_id: int) -> list[NotificationDelivery]:
    stmt = select(NotificationDelivery).where(
        NotificationDelivery.recipient_id == user_id, NotificationDelivery.kind == "backlog_digest"
    )
    return list(db.scalars(stmt.order_by(NotificationDelivery.id)))


def test_due_once_per_local_day_at_the_leads_hour(db: Session, factory: Factory) -> None:
    team = factory.team(name="IT")
    lead = factory.user(Role.LEAD, [team], name="Lena Lead")
    digests.subscribe(db, lead, hour="7", timezone="Europe/Berlin")
    assert digests.plan_due(db, BEFORE) == []
    [first] = digests.plan_due(db, AFTER)
    assert digests.plan_due(db, AFTER + timedelta(hours=3)) == []  # later that day: already planned
    [row] = digests_of(db, lead.id)
    assert (row.id, row.digest_date.isoformat() if row.digest_date else None) == (first, "2026-11-27")
    assert row.event_id is None
    assert row.message_id.startswith("<hd-digest-20261127-")
    next_day = digests.plan_due(db, AFTER + timedelta(days=1))
    assert len(next_day) == 1
    assert [d.digest_date.isoformat() for d in digests_of(db, lead.id) if d.digest_date] == [
        "2026-11-27",
        "2026-11-28",
    ]


def test_a_late_scheduler_sends_today_but_never_yesterday(db: Session, factory: Factory) -> None:
    lead = factory.user(Role.LEAD, [factory.team()])
    digests.subscribe(db, lead, hour="7", timezone="UTC")
    late = datetime(2026, 11, 27, 15, 0, tzinfo=UTC)
    assert len(digests.plan_due(db, late)) == 1
    # Just after midnight the next day, before 07:00: nothing (yesterday's was sent; today's is not due).
    assert digests.plan_due(db, datetime(2026, 11, 28, 0, 30, tzinfo=UTC)) == []


def test_the_digest_shows_the_leads_teams_by_priority_age_and_risk(db: Session, factory: Factory) -> None:
    it, other = factory.team(name="IT"), factory.team(name="Other")
    lead = factory.user(Role.LEAD, [it], name="Lena Lead")
    agent = factory.user(Role.AGENT, [it], name="Ian Agent")
    requester = factory.user()
    urgent = factory.ticket(requester, team=it, subject="Core switch down", priority=1)
    old = factory.ticket(requester, team=it, subject="Old unassigned printer", priority=3)
    handled = factory.ticket(requester, team=it, subject="Assigned and answered", priority=2)
    tickets.assign(db, agent, handled.id, agent.id)
    done = factory.ticket(requester, team=it, subject="Finished", priority=1)
    tickets.transition(db, agent, done.id, "resolved")
    factory.ticket(requester, team=other, subject="Not my team", priority=1)
    now = datetime.now(UTC) + timedelta(minutes=5)
    db.execute(update(Ticket).where(Ticket.id == old.id).values(created_at=now - timedelta(days=4)))
    db.execute(update(Ticket).where(Ticket.id == handled.id).values(first_response_at=now))
    digests.subscribe(db, lead, hour="0", timezone="UTC")

    digests.plan_due(db, now)
    [mail] = digests_of(db, lead.id)
    text = mail.body_text
    assert mail.subject.startswith("Backlog digest for ")
    assert "3 open, 2 need attention" in mail.subject
    assert "== IT: 3 open ==" in text
    assert "P1 1 · P2 1 · P3 1 · P4 0" in text
    assert "Unassigned:   2" in text
    assert "1 older than a day, 1 older than 3 days, 0 older than a week" in text
    assert "Oldest:       4 days" in text
    assert f"{urgent.reference} P1 · Critical · Core switch down (Unassigned, no first response yet" in text
    assert f"{old.reference} P3 · Normal · Old unassigned printer (Unassigned for over a day, 4 days)" in text
    assert "Assigned and answered" not in text  # answered and owned: not at risk
    assert "Not my team" not in text
    assert "Finished" not in text
    assert f"/console/teams/{it.slug}" in text
    assert "Core switch down" in mail.body_html


def test_only_leads_with_a_team_may_subscribe(db: Session, factory: Factory) -> None:
    team = factory.team()
    lead = factory.user(Role.LEAD, [team])
    for viewer in (factory.user(Role.AGENT, [team]), factory.user(), factory.user(Role.LEAD)):
        assert not digests.may_subscribe(viewer)
    assert digests.may_subscribe(lead)
    bad = [("25", "UTC", "digest_hour"), ("7", "Mars/Base", "digest_timezone"), ("x", "UTC", "digest_hour")]
    for hour, tz, field in bad:
        with pytest.raises(ValidationFailed) as refused:
            digests.subscribe(db, lead, hour=hour, timezone=tz)
        assert field in refused.value.fields, (hour, tz)


def test_two_schedulers_planning_at_once_send_one_digest(committed: Session, engine: Engine) -> None:
    factory = Factory(committed)
    lead = factory.user(Role.LEAD, [factory.team()])
    digests.subscribe(committed, lead, hour="0", timezone="UTC")
    committed.commit()
    now = datetime.now(UTC)
    start = threading.Barrier(4)
    errors: list[BaseException] = []

    def scheduler() -> None:
        try:
            with Session(engine) as s, s.begin():
                start.wait()
                digests.plan_due(s, now)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=scheduler) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert errors == []
    with Session(engine) as s:
        assert len(digests_of(s, lead.id)) == 1


def test_preferences_page_subscribes_and_stops_the_digest(
    app_client: Client, db: Session, factory: Factory
) -> None:
    lead = factory.user(Role.LEAD, [factory.team()])
    client = app_client(lead)
    page = client.get("/account/notifications").text
    assert "Daily backlog digest" in page
    assert "Send me the digest" in page
    url = "/account/notifications/digest"
    bad = client.post(url, data={"digest_hour": "7", "digest_timezone": "Nowhere"})
    assert bad.status_code == 422
    assert "Choose a time zone from the list" in bad.text
    ok = client.post(
        "/account/notifications/digest", data={"digest_hour": "8", "digest_timezone": "Europe/Berlin"}
    )
    assert "every day at 08:00 (Europe/Berlin)" in ok.text
    assert "Next digest:" in ok.text
    sub = db.get(DigestSubscription, lead.id)
    assert sub is not None
    assert (sub.hour, sub.timezone) == (8, "Europe/Berlin")
    stopped = client.post("/account/notifications/digest", data={"action": "unsubscribe"})
    assert "You no longer get the backlog digest." in stopped.text
    assert db.get(DigestSubscription, lead.id) is None


def test_agents_and_requesters_are_not_offered_the_digest(app_client: Client, factory: Factory) -> None:
    team = factory.team()
    for viewer in (factory.user(Role.AGENT, [team]), factory.user()):
        client = app_client(viewer)
        assert "Daily backlog digest" not in client.get("/account/notifications").text
        data = {"digest_hour": "7", "digest_timezone": "UTC"}
        refused = client.post("/account/notifications/digest", data=data)
        assert refused.status_code == 422
