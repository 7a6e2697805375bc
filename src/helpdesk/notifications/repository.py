"""All SQL of the notifications module."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import delete, func, select, text, tuple_
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session, joinedload

from helpdesk.audit.models import AdminChange
from helpdesk.identity.models import TeamMember, User
from helpdesk.messaging.models import TicketMessage
from helpdesk.notifications.models import (
    DeliveryStatus,
    DigestSubscription,
    NotificationDelivery,
    NotificationPreference,
    NotificationTemplate,
    TeamWebhook,
)


@dataclass(frozen=True)
class DeliveryPage:
    deliveries: list[NotificationDelivery]
    next_before: int | None  # the keyset cursor of the next (older) page


class NotificationRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    # --- deliveries ------------------------------------------------------------------
    def next_delivery_id(self) -> int:
        """Taken before the insert so the stable Message-ID (which holds it) is in the row."""
        value = self.session.scalar(
            text("SELECT nextval(pg_get_serial_sequence('notification_deliveries', 'id'))")
        )
        return int(value)

    def insert_delivery(self, values: dict[str, Any]) -> int | None:
        """The new row's id, or None when (event, recipient, channel) already has a delivery."""
        stmt = (
            insert(NotificationDelivery)
            .values(**values)
            .on_conflict_do_nothing(index_elements=["event_id", "recipient_id", "channel"])
            .returning(NotificationDelivery.id)
        )
        return self.session.scalar(stmt)

    def insert_digest(self, values: dict[str, Any]) -> int | None:
        """The new row's id, or None when this lead already has this day's digest."""
        stmt = (
            insert(NotificationDelivery)
            .values(**values)
            .on_conflict_do_nothing(
                index_elements=["recipient_id", "kind", "digest_date"],
                index_where=text("digest_date IS NOT NULL"),
            )
            .returning(NotificationDelivery.id)
        )
        return self.session.scalar(stmt)

    def insert_webhook_delivery(self, values: dict[str, Any]) -> int | None:
        """The new row's id, or None when this event was already planned for this webhook."""
        stmt = (
            insert(NotificationDelivery)
            .values(**values)
            .on_conflict_do_nothing(
                index_elements=["event_id", "webhook_id"], index_where=text("webhook_id IS NOT NULL")
            )
            .returning(NotificationDelivery.id)
        )
        return self.session.scalar(stmt)

    def lock_delivery(self, delivery_id: int) -> NotificationDelivery | None:
        stmt = (
            select(NotificationDelivery)
            .where(NotificationDelivery.id == delivery_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        return self.session.scalar(stmt)

    def delivery(self, delivery_id: int) -> NotificationDelivery | None:
        return self.session.scalar(
            select(NotificationDelivery)
            .where(NotificationDelivery.id == delivery_id)
            .options(joinedload(NotificationDelivery.recipient))
        )

    def deliveries_for_event(self, event_id: int) -> list[NotificationDelivery]:
        stmt = (
            select(NotificationDelivery)
            .where(NotificationDelivery.event_id == event_id)
            .order_by(NotificationDelivery.id)
        )
        return list(self.session.scalars(stmt))

    def page(self, *, before: int | None, limit: int, status: DeliveryStatus | None = None) -> DeliveryPage:
        """Newest first, keyset-paginated on the id."""
        stmt = select(NotificationDelivery).options(joinedload(NotificationDelivery.recipient))
        if before is not None:
            stmt = stmt.where(NotificationDelivery.id < before)
        if status is not None:
            stmt = stmt.where(NotificationDelivery.status == status)
        rows = list(self.session.scalars(stmt.order_by(NotificationDelivery.id.desc()).limit(limit + 1)))
        more = len(rows) > limit
        rows = rows[:limit]
        return DeliveryPage(rows, rows[-1].id if more and rows else None)

    def status_counts(self) -> dict[str, int]:
        stmt = select(NotificationDelivery.status, func.count()).group_by(NotificationDelivery.status)
        return {str(s): int(n) for s, n in self.session.execute(stmt)}

    def stuck(self, enqueued_before: datetime, *, limit: int) -> list[NotificationDelivery]:
        """Queued deliveries whose send task should have run by now (lost between commit and
        enqueue, or in a broker that lost its data). Locked so two sweepers share the work."""
        stmt = (
            select(NotificationDelivery)
            .where(
                NotificationDelivery.status == DeliveryStatus.QUEUED,
                NotificationDelivery.enqueued_at < enqueued_before,
            )
            .order_by(NotificationDelivery.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        return list(self.session.scalars(stmt))

    # --- templates -------------------------------------------------------------------
    def template(self, kind: str) -> NotificationTemplate | None:
        return self.session.get(NotificationTemplate, kind)

    def templates(self) -> dict[str, NotificationTemplate]:
        stmt = select(NotificationTemplate).options(joinedload(NotificationTemplate.updated_by))
        return {t.kind: t for t in self.session.scalars(stmt)}

    def lock_template(self, kind: str) -> NotificationTemplate | None:
        stmt = (
            select(NotificationTemplate)
            .where(NotificationTemplate.kind == kind)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        return self.session.scalar(stmt)

    def insert_missing_templates(self, rows: Sequence[dict[str, Any]]) -> None:
        if rows:
            self.session.execute(insert(NotificationTemplate).values(list(rows)).on_conflict_do_nothing())

    def template_changes(self, kind: str, *, limit: int = 10) -> list[AdminChange]:
        stmt = (
            select(AdminChange)
            .where(AdminChange.entity == "notification_template", AdminChange.entity_id == kind)
            .options(joinedload(AdminChange.actor))
            .order_by(AdminChange.at.desc(), AdminChange.id.desc())
            .limit(limit)
        )
        return list(self.session.scalars(stmt))

    # --- preferences -----------------------------------------------------------------
    def preferences(self, user_id: int) -> dict[str, bool]:
        stmt = select(NotificationPreference).where(NotificationPreference.user_id == user_id)
        return {p.kind: p.enabled for p in self.session.scalars(stmt)}

    def opted_out(self, user_ids: Sequence[int]) -> set[tuple[int, str]]:
        """(user id, kind) pairs these users turned off."""
        if not user_ids:
            return set()
        stmt = select(NotificationPreference.user_id, NotificationPreference.kind).where(
            NotificationPreference.user_id.in_(user_ids), NotificationPreference.enabled.is_(False)
        )
        return {(int(u), str(k)) for u, k in self.session.execute(stmt)}

    def set_preference(self, user_id: int, kind: str, enabled: bool) -> None:
        stmt = insert(NotificationPreference).values(user_id=user_id, kind=kind, enabled=enabled)
        self.session.execute(
            stmt.on_conflict_do_update(
                index_elements=["user_id", "kind"], set_={"enabled": stmt.excluded.enabled}
            )
        )

    # --- digests ---------------------------------------------------------------------
    def digest_subscription(self, user_id: int) -> DigestSubscription | None:
        return self.session.get(DigestSubscription, user_id)

    def save_digest_subscription(
        self, user_id: int, hour: int, timezone: str, now: datetime
    ) -> DigestSubscription:
        stmt = insert(DigestSubscription).values(
            user_id=user_id, hour=hour, timezone=timezone, created_at=now, updated_at=now
        )
        self.session.execute(
            stmt.on_conflict_do_update(
                index_elements=["user_id"], set_={"hour": hour, "timezone": timezone, "updated_at": now}
            )
        )
        found = self.session.get(DigestSubscription, user_id, populate_existing=True)
        assert found is not None
        return found

    def delete_digest_subscription(self, user_id: int) -> None:
        self.session.execute(delete(DigestSubscription).where(DigestSubscription.user_id == user_id))

    def digest_subscribers(self) -> list[tuple[DigestSubscription, User]]:
        stmt = select(DigestSubscription, User).join(User, User.id == DigestSubscription.user_id)
        return [(sub, user) for sub, user in self.session.execute(stmt.order_by(DigestSubscription.user_id))]

    def digests_planned(self, kind: str, wanted: set[tuple[int, date]]) -> set[tuple[int, date]]:
        if not wanted:
            return set()
        stmt = select(NotificationDelivery.recipient_id, NotificationDelivery.digest_date).where(
            NotificationDelivery.kind == kind,
            tuple_(NotificationDelivery.recipient_id, NotificationDelivery.digest_date).in_(list(wanted)),
        )
        return {(int(u), d) for u, d in self.session.execute(stmt) if u is not None and d is not None}

    # --- team webhooks -----------------------------------------------------------------
    def webhooks(self, team_id: int | None = None) -> list[TeamWebhook]:
        stmt = select(TeamWebhook).options(joinedload(TeamWebhook.team))
        if team_id is not None:
            stmt = stmt.where(TeamWebhook.team_id == team_id)
        return list(self.session.scalars(stmt.order_by(TeamWebhook.team_id, TeamWebhook.id)))

    def active_webhooks(self, team_id: int) -> list[TeamWebhook]:
        stmt = select(TeamWebhook).where(TeamWebhook.team_id == team_id, TeamWebhook.is_active.is_(True))
        return list(self.session.scalars(stmt.order_by(TeamWebhook.id)))

    def webhook(self, webhook_id: int) -> TeamWebhook | None:
        return self.session.scalar(
            select(TeamWebhook).where(TeamWebhook.id == webhook_id).options(joinedload(TeamWebhook.team))
        )

    def add(self, row: TeamWebhook) -> None:
        self.session.add(row)
        self.session.flush()

    def delete_webhook(self, row: TeamWebhook) -> None:
        self.session.delete(row)

    def webhook_deliveries(self, webhook_id: int, *, limit: int) -> list[NotificationDelivery]:
        stmt = (
            select(NotificationDelivery)
            .where(NotificationDelivery.webhook_id == webhook_id)
            .order_by(NotificationDelivery.id.desc())
            .limit(limit)
        )
        return list(self.session.scalars(stmt))

    # --- what planning reads from other modules ---------------------------------------
    def team_ids_by_user(self, user_ids: Sequence[int]) -> dict[int, frozenset[int]]:
        if not user_ids:
            return {}
        found: dict[int, set[int]] = {u: set() for u in user_ids}
        stmt = select(TeamMember.user_id, TeamMember.team_id).where(TeamMember.user_id.in_(user_ids))
        for user_id, team_id in self.session.execute(stmt):
            found[int(user_id)].add(int(team_id))
        return {u: frozenset(t) for u, t in found.items()}

    def message(self, message_id: int) -> TicketMessage | None:
        return self.session.scalar(
            select(TicketMessage)
            .where(TicketMessage.id == message_id)
            .options(joinedload(TicketMessage.author))
        )
