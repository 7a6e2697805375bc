"""Typed list filters and the keyset cursor shared by the console, portal and API."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass, field
from datetime import datetime

from helpdesk.errors import ValidationFailed

PAGE_SIZE = 50
BIGINT_MAX = 2**63 - 1
MAX_PAGE_SIZE = 200


@dataclass(frozen=True)
class TicketFilters:
    mine: bool = False  # requested by me
    state: str | None = None  # "open" (not resolved/closed) | "closed" (resolved or closed)
    status_keys: tuple[str, ...] = ()
    team_id: int | None = None
    assignee_id: int | None = None
    unassigned: bool = False
    priorities: tuple[int, ...] = ()
    category_id: int | None = None
    tag: str | None = None
    q: str | None = None
    updated_since: datetime | None = None
    limit: int = PAGE_SIZE
    extra: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Cursor:
    updated_at: datetime
    id: int

    def encode(self) -> str:
        raw = f"{self.updated_at.isoformat()}|{self.id}".encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @classmethod
    def decode(cls, value: str) -> Cursor:
        try:
            padded = value + "=" * (-len(value) % 4)
            stamp, _, ident = base64.urlsafe_b64decode(padded).decode().partition("|")
            updated = datetime.fromisoformat(stamp)
            if updated.tzinfo is None:
                raise ValueError("naive timestamp")
            ident_value = int(ident)
            if not 1 <= ident_value <= BIGINT_MAX:
                raise ValueError("id out of range")
            return cls(updated_at=updated, id=ident_value)
        except (ValueError, UnicodeDecodeError, binascii.Error) as exc:
            raise ValidationFailed(
                "The cursor is not valid.", fields={"cursor": "Not a valid cursor."}
            ) from exc


def parse_ticket_ref(value: str) -> int | None:
    """'HD-1042', 'hd1042' or '1042' → 1042."""
    v = value.strip().upper().removeprefix("HD").lstrip("-# ")
    return int(v) if v.isdigit() and len(v) < 12 else None
