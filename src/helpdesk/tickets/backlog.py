"""The team backlog's filter query: parsed leniently from a URL, written back canonically, so the
URL, the saved filter and the list query all describe the same thing."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlencode

from helpdesk.identity.viewer import Viewer
from helpdesk.tickets.filters import PAGE_SIZE, TicketFilters

# Status choices that are not a single status key.
OPEN = "open"
ANY = "all"
DONE = "closed"
STATUS_GROUPS = {OPEN: "Open (any)", ANY: "Any status", DONE: "Resolved or closed"}
ASSIGNEE_ME = "me"
ASSIGNEE_NONE = "none"
_KEY_RE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
_TEXT_MAX = 200


@dataclass(frozen=True)
class BacklogQuery:
    status: tuple[str, ...] = (OPEN,)  # one group (open/all/closed) or one or more status keys
    priority: int | None = None
    assignee: str = ""  # "" anyone | "me" | "none" | "<user id>"
    category_id: int | None = None
    tag: str = ""
    q: str = ""

    @classmethod
    def parse(cls, pairs: Iterable[tuple[str, str]]) -> BacklogQuery:
        """Unknown keys and malformed values are dropped, never an error: URLs get hand-edited."""
        statuses: list[str] = []
        values: dict[str, str] = {}
        for key, raw in pairs:
            value = raw.strip()
            if key == "status":
                if value and _KEY_RE.match(value) and value not in statuses:
                    statuses.append(value)
            elif key in ("priority", "assignee", "category", "tag", "q") and key not in values:
                values[key] = value[:_TEXT_MAX]
        group = next((s for s in statuses if s in STATUS_GROUPS), None)
        status = (group,) if group else tuple(statuses) or (OPEN,)
        priority = values.get("priority", "")
        assignee = values.get("assignee", "")
        if assignee not in ("", ASSIGNEE_ME, ASSIGNEE_NONE) and not (
            assignee.isdigit() and len(assignee) < 18
        ):
            assignee = ""
        category = values.get("category", "")
        return cls(
            status=status,
            priority=int(priority) if priority in ("1", "2", "3", "4") else None,
            assignee=assignee,
            category_id=int(category) if category.isdigit() and len(category) < 18 else None,
            tag=values.get("tag", "").lower()[:50],
            q=" ".join(values.get("q", "").split()),
        )

    @classmethod
    def from_string(cls, query: str) -> BacklogQuery:
        return cls.parse(parse_qsl(query, keep_blank_values=False))

    def pairs(self) -> list[tuple[str, str]]:
        """Only what differs from the default, in a fixed order (so equal filters have equal URLs)."""
        out: list[tuple[str, str]] = []
        if self.status != (OPEN,):
            out += [("status", s) for s in self.status]
        if self.priority is not None:
            out.append(("priority", str(self.priority)))
        if self.assignee:
            out.append(("assignee", self.assignee))
        if self.category_id is not None:
            out.append(("category", str(self.category_id)))
        if self.tag:
            out.append(("tag", self.tag))
        if self.q:
            out.append(("q", self.q))
        return out

    def query_string(self) -> str:
        return urlencode(self.pairs())

    @property
    def is_default(self) -> bool:
        return not self.pairs()

    @property
    def status_choice(self) -> str:
        """The value the single status <select> shows."""
        return self.status[0] if len(self.status) == 1 else ""

    def filters(self, viewer: Viewer, team_id: int, *, limit: int = PAGE_SIZE) -> TicketFilters:
        group = self.status[0] if self.status[0] in STATUS_GROUPS else None
        assignee_id: int | None = None
        if self.assignee == ASSIGNEE_ME:
            assignee_id = viewer.id
        elif self.assignee.isdigit():
            assignee_id = int(self.assignee)
        return TicketFilters(
            state=group if group in (OPEN, DONE) else None,
            status_keys=() if group else self.status,
            team_id=team_id,
            assignee_id=assignee_id,
            unassigned=self.assignee == ASSIGNEE_NONE,
            priorities=(self.priority,) if self.priority is not None else (),
            category_id=self.category_id,
            tag=self.tag or None,
            q=self.q or None,
            limit=limit,
        )


def saved_query(team_slug: str, query: BacklogQuery) -> str:
    """What a SavedFilter stores: the team and the backlog filters as one query string."""
    return urlencode([("team", team_slug), *query.pairs()])


def split_saved_query(value: str) -> tuple[str, BacklogQuery]:
    pairs = parse_qsl(value, keep_blank_values=False)
    team = next((v for k, v in pairs if k == "team"), "")
    return team, BacklogQuery.parse((k, v) for k, v in pairs if k != "team")


def backlog_url(team_slug: str, query: BacklogQuery, *, cursor: str | None = None) -> str:
    pairs = query.pairs() + ([("cursor", cursor)] if cursor else [])
    return f"/console/teams/{team_slug}" + (f"?{urlencode(pairs)}" if pairs else "")
