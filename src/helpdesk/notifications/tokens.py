"""Reply tokens: the ticket id and an HMAC of it with SECRET_KEY, carried in the Reply-To
address (`helpdesk+{token}@host`) so a mail answer finds its ticket and cannot be forged.

The token is lower case (base32 digits) because some mail systems fold the case of the local
part of an address."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re

from helpdesk.config import get_settings

SIG_CHARS = 16  # 80 bits
_TOKEN = re.compile(rf"^(\d{{1,18}})\.([a-z2-7]{{{SIG_CHARS}}})$")
_ADDRESS = re.compile(r"[^\s<>@+]+\+([^\s<>@]+)@", re.IGNORECASE)


def _signature(ticket_id: int, secret: str) -> str:
    mac = hmac.new(secret.encode(), f"reply-token:{ticket_id}".encode(), hashlib.sha256).digest()
    return base64.b32encode(mac).decode().lower()[:SIG_CHARS]


def reply_token(ticket_id: int, *, secret: str | None = None) -> str:
    return f"{ticket_id}.{_signature(ticket_id, secret or get_settings().secret_key)}"


def reply_address(ticket_id: int, host: str, *, secret: str | None = None) -> str:
    return f"helpdesk+{reply_token(ticket_id, secret=secret)}@{host}"


def parse_reply_token(address: str, *, secret: str | None = None) -> int | None:
    """The ticket id from a reply address (`Name <helpdesk+TOKEN@host>`, a bare address or the
    token alone), or None when there is no token or it was not signed with our key."""
    value = address.strip()
    found = _ADDRESS.search(value)
    token = (found.group(1) if found else value).lower()
    match = _TOKEN.match(token)
    if match is None:
        return None
    ticket_id = int(match.group(1))
    expected = _signature(ticket_id, secret or get_settings().secret_key)
    return ticket_id if hmac.compare_digest(expected, match.group(2)) else None
