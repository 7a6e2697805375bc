"""Dead letters: messages whose last retry failed are kept in Postgres until replayed."""

from __future__ import annotations

import logging
from typing import Any

import dramatiq
from dramatiq.broker import Broker
from dramatiq.middleware import Middleware
from sqlalchemy import select
from sqlalchemy.orm import Session

from helpdesk.clock import Clock, system_clock
from helpdesk.db import transaction
from helpdesk.errors import NotFound
from helpdesk.events.models import DeadLetter

log = logging.getLogger("helpdesk.events")
_TRANSIENT_OPTIONS = frozenset({"traceback", "redis_message_id"})
_RETRY_OPTIONS = frozenset({"retries", "requeue_timestamp"})


class DeadLetters(Middleware):
    def after_nack(self, broker: Broker, message: dramatiq.MessageProxy) -> None:
        # A nack is a message that failed for good (retries exhausted or a `throws` exception).
        record = {k: v for k, v in message.asdict().items() if k != "options"}
        record["options"] = {k: v for k, v in message.options.items() if k not in _TRANSIENT_OPTIONS}
        try:
            with transaction() as db:
                db.add(
                    DeadLetter(
                        actor_name=message.actor_name,
                        queue_name=message.queue_name,
                        message_id=message.message_id,
                        message=record,
                        error=str(message.options.get("traceback", ""))[-4000:],
                    )
                )
        except Exception:
            # The broker keeps its own dead-letter copy for a week; say loudly that ours failed.
            log.exception("could not record dead letter %s", message.message_id)


def open_letters(db: Session, limit: int = 100) -> list[DeadLetter]:
    stmt = select(DeadLetter).where(DeadLetter.replayed_at.is_(None)).order_by(DeadLetter.id).limit(limit)
    return list(db.scalars(stmt))


def replay(db: Session, letter_id: int | None = None, *, clock: Clock = system_clock) -> list[DeadLetter]:
    """Send dead letters again with fresh retries. Consumers are idempotent, so a replay of a
    message that in fact took effect is harmless."""
    from helpdesk.events.broker import get_broker

    stmt = select(DeadLetter).where(DeadLetter.replayed_at.is_(None)).with_for_update(skip_locked=True)
    if letter_id is not None:
        stmt = stmt.where(DeadLetter.id == letter_id)
    letters = list(db.scalars(stmt.order_by(DeadLetter.id)))
    if letter_id is not None and not letters:
        raise NotFound(f"No open dead letter {letter_id}.")
    broker = get_broker()
    for letter in letters:
        data: dict[str, Any] = dict(letter.message)
        options = {k: v for k, v in data.get("options", {}).items() if k not in _RETRY_OPTIONS}
        message: dramatiq.Message[Any] = dramatiq.Message(
            queue_name=letter.queue_name,
            actor_name=letter.actor_name,
            args=tuple(data.get("args", ())),
            kwargs=data.get("kwargs", {}),
            options=options,
        )
        broker.enqueue(message)
        letter.replayed_at = clock()
    return letters
