"""All SQL of the tickets module."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, TypeVar

from sqlalchemy import Select, false, func, or_, select, tuple_
from sqlalchemy.orm import Session, joinedload

from helpdesk.identity.models import Role, Team, TeamMember, User
from helpdesk.identity.policy import visible_tickets
from helpdesk.identity.viewer import Viewer
from helpdesk.tickets.filters import Cursor, TicketFilters, parse_ticket_ref
from helpdesk.tickets.models import (
    Category,
    IdempotencyKey,
    SavedFilter,
    SharePermission,
    Status,
    StatusCategory,
    StatusTransition,
    Ticket,
    TicketShare,
    TicketWatcher,
)

_STATUS_IDS = "helpdesk.status_ids"
_S = TypeVar("_S", bound=Select[Any])
ACTIVE_CATEGORIES = (StatusCategory.NEW, StatusCategory.OPEN, StatusCategory.PENDING)
DONE_CATEGORIES = (StatusCategory.RESOLVED, StatusCategory.CLOSED)


@dataclass
class TeamBacklog:
    """One team's open work for the lead's digest."""

    team_id: int
    open: int = 0
    by_priority: dict[int, int] = field(default_factory=lambda: {1: 0, 2: 0, 3: 0, 4: 0})
    unassigned: int = 0
    waiting: int = 0  # in a pending status (on the requester or a vendor)
    older_than: dict[int, int] = field(default_factory=lambda: {1: 0, 3: 0, 7: 0})  # days -> count
    oldest_at: datetime | None = None


AGING_DAYS = (1, 3, 7)
UNASSIGNED_AT_RISK = timedelta(hours=24)
NAV_COUNT_CAP = 999


@dataclass(frozen=True)
class TicketFacts:
    """Just what routing a live notice needs (and what the access policy reads)."""

    id: int
    number: int
    version: int
    team_id: int | None
    assignee_id: int | None
    requester_id: int


@dataclass(frozen=True)
class ShareFacts:
    team_id: int | None
    user_id: int | None
    permission: SharePermission


@dataclass(frozen=True)
class WatcherFacts:
    user_id: int
    role: Role
    is_active: bool
    team_ids: frozenset[int]


@dataclass(frozen=True)
class TicketPage:
    tickets: list[Ticket]
    next_cursor: str | None


def _with_row_relations(stmt: Select[Ticket]) -> Select[Ticket]:
    return stmt.options(
        joinedload(Ticket.status),
        joinedload(Ticket.team),
        joinedload(Ticket.assignee),
        joinedload(Ticket.requester),
        joinedload(Ticket.category),
    )


class TicketRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    # --- single tickets -------------------------------------------------------------
    def get(self, ticket_id: int) -> Ticket | None:
        return self.session.scalar(_with_row_relations(select(Ticket)).where(Ticket.id == ticket_id))

    def get_by_number(self, number: int) -> Ticket | None:
        return self.session.scalar(_with_row_relations(select(Ticket)).where(Ticket.number == number))

    def lock(self, ticket_id: int) -> Ticket | None:
        """The row lock every multi-step write starts with."""
        stmt = (
            select(Ticket)
            .where(Ticket.id == ticket_id)
            .options(joinedload(Ticket.status, innerjoin=True))
            .with_for_update(of=Ticket)
            .execution_options(populate_existing=True)
        )
        return self.session.scalar(stmt)

    def shares(self, ticket_id: int) -> list[TicketShare]:
        stmt = (
            select(TicketShare)
            .where(TicketShare.ticket_id == ticket_id)
            .options(joinedload(TicketShare.team), joinedload(TicketShare.user))
            .order_by(TicketShare.id)
        )
        return list(self.session.scalars(stmt))

    def watchers(self, ticket_id: int) -> list[TicketWatcher]:
        stmt = (
            select(TicketWatcher)
            .where(TicketWatcher.ticket_id == ticket_id)
            .options(joinedload(TicketWatcher.user))
            .order_by(TicketWatcher.created_at)
        )
        return list(self.session.scalars(stmt))

    # --- the cheap reads of the live-notice consumer (it runs for every event) ----------------
    def facts(self, ticket_id: int) -> TicketFacts | None:
        row = self.session.execute(
            select(Ticket.id, Ticket.number, Ticket.version, Ticket.team_id)
            .add_columns(Ticket.assignee_id, Ticket.requester_id)
            .where(Ticket.id == ticket_id)
        ).first()
        return TicketFacts(*row) if row is not None else None

    def share_facts(self, ticket_id: int) -> list[ShareFacts]:
        stmt = select(TicketShare.team_id, TicketShare.user_id, TicketShare.permission).where(
            TicketShare.ticket_id == ticket_id
        )
        return [ShareFacts(*row) for row in self.session.execute(stmt)]

    def watcher_facts(self, ticket_id: int) -> list[WatcherFacts]:
        """Each watcher with what the access policy needs: role, active, team ids."""
        stmt = (
            select(User.id, User.role, User.is_active)
            .add_columns(func.array_remove(func.array_agg(TeamMember.team_id), None))
            .join(TicketWatcher, TicketWatcher.user_id == User.id)
            .outerjoin(TeamMember, TeamMember.user_id == User.id)
            .where(TicketWatcher.ticket_id == ticket_id)
            .group_by(User.id)
        )
        return [
            WatcherFacts(user_id, role, is_active, frozenset(teams or ()))
            for user_id, role, is_active, teams in self.session.execute(stmt)
        ]

    def watcher(self, ticket_id: int, user_id: int) -> TicketWatcher | None:
        return self.session.get(TicketWatcher, (ticket_id, user_id))

    # --- lists ----------------------------------------------------------------------
    def status_ids(self, categories: Sequence[StatusCategory]) -> list[int]:
        """Ids of the statuses in these categories, looked up once per session: as literals in
        the list queries they let the planner walk one index in order (docs/PERFORMANCE.md §3)."""
        cache: dict[tuple[StatusCategory, ...], list[int]] = self.session.info.setdefault(_STATUS_IDS, {})
        key = tuple(categories)
        if key not in cache:
            cache[key] = list(self.session.scalars(select(Status.id).where(Status.category.in_(key))))
        return cache[key]

    def page(self, viewer: Viewer, filters: TicketFilters, cursor: Cursor | None = None) -> TicketPage:
        stmt = _with_row_relations(select(Ticket)).where(visible_tickets(viewer, team_id=filters.team_id))
        stmt = self._apply(stmt, viewer, filters)
        if cursor is not None:
            stmt = stmt.where(tuple_(Ticket.updated_at, Ticket.id) < tuple_(cursor.updated_at, cursor.id))
        stmt = stmt.order_by(Ticket.updated_at.desc(), Ticket.id.desc()).limit(filters.limit + 1)
        rows = list(self.session.scalars(stmt))
        more = len(rows) > filters.limit
        rows = rows[: filters.limit]
        nxt = Cursor(rows[-1].updated_at, rows[-1].id).encode() if more and rows else None
        return TicketPage(rows, nxt)

    def _apply(self, stmt: _S, viewer: Viewer, f: TicketFilters) -> _S:
        if f.mine:
            stmt = stmt.where(Ticket.requester_id == viewer.id)
        if f.state in ("open", "closed"):
            wanted = ACTIVE_CATEGORIES if f.state == "open" else DONE_CATEGORIES
            stmt = stmt.where(Ticket.status_id.in_(self.status_ids(wanted)))
        if f.status_keys:
            stmt = stmt.where(Ticket.status_id.in_(select(Status.id).where(Status.key.in_(f.status_keys))))
        if f.team_id is not None:
            stmt = stmt.where(Ticket.team_id == f.team_id)
        if f.unassigned:
            stmt = stmt.where(Ticket.assignee_id.is_(None))
        elif f.assignee_id is not None:
            stmt = stmt.where(Ticket.assignee_id == f.assignee_id)
        if f.priorities:
            stmt = stmt.where(Ticket.priority.in_(f.priorities))
        if f.category_id is not None:
            sub = select(Category.id).where(
                or_(Category.id == f.category_id, Category.parent_id == f.category_id)
            )
            stmt = stmt.where(Ticket.category_id.in_(sub))
        if f.tag:
            stmt = stmt.where(Ticket.tags.contains([f.tag]))
        if f.updated_since is not None:
            stmt = stmt.where(Ticket.updated_at >= f.updated_since)
        if f.q:
            number = parse_ticket_ref(f.q)
            text_match = Ticket.search.op("@@")(func.websearch_to_tsquery("simple", f.q))
            stmt = stmt.where(or_(text_match, Ticket.number == number) if number else text_match)
        return stmt

    def count(self, viewer: Viewer, filters: TicketFilters, *, cap: int | None = None) -> int:
        """How many tickets match; with cap, stops counting at cap + 1 (shown as "cap+")."""
        stmt = self._apply(
            select(Ticket.id).where(visible_tickets(viewer, team_id=filters.team_id)), viewer, filters
        )
        if cap is not None:
            stmt = stmt.limit(cap + 1)
        return self.session.scalar(select(func.count()).select_from(stmt.subquery())) or 0

    def watched_open(self, viewer: Viewer, *, limit: int) -> list[Ticket]:
        """Active tickets the viewer watches but is not assigned to, most recently updated first."""
        stmt = (
            _with_row_relations(select(Ticket))
            .join(TicketWatcher, TicketWatcher.ticket_id == Ticket.id)
            .where(
                TicketWatcher.user_id == viewer.id,
                Ticket.assignee_id.is_distinct_from(viewer.id),
                Ticket.status_id.in_(self.status_ids(ACTIVE_CATEGORIES)),
                visible_tickets(viewer),
            )
            .order_by(Ticket.updated_at.desc(), Ticket.id.desc())
            .limit(limit)
        )
        return list(self.session.scalars(stmt))

    def unassigned_open(self, viewer: Viewer, team_ids: Sequence[int], *, limit: int) -> list[Ticket]:
        """The pick-up queue: active, unassigned tickets of these teams, newest first."""
        if not team_ids:
            return []
        stmt = (
            _with_row_relations(select(Ticket))
            .where(
                Ticket.team_id.in_(team_ids),
                Ticket.assignee_id.is_(None),
                Ticket.status_id.in_(self.status_ids(ACTIVE_CATEGORIES)),
                visible_tickets(viewer),
            )
            .order_by(Ticket.created_at.desc(), Ticket.id.desc())
            .limit(limit)
        )
        return list(self.session.scalars(stmt))

    def visible_numbers(self, viewer: Viewer, ticket_ids: Sequence[int]) -> dict[int, int]:
        """id -> number for the tickets among ticket_ids the viewer may see."""
        if not ticket_ids:
            return {}
        stmt = select(Ticket.id, Ticket.number).where(Ticket.id.in_(ticket_ids), visible_tickets(viewer))
        return dict(self.session.execute(stmt).all())

    def open_counts_by_team(self, team_ids: Sequence[int], *, cap: int = NAV_COUNT_CAP) -> dict[int, int]:
        """Open tickets per team for the sidebar, each counted up to cap + 1 (shown "999+"): a
        few index-only reads per team instead of a scan of every open ticket of every team."""
        if not team_ids:
            return {}
        active = self.status_ids(ACTIVE_CATEGORIES)
        columns = [
            select(func.count())
            .select_from(
                select(Ticket.id)
                .where(Ticket.team_id == team_id, Ticket.status_id.in_(active))
                .limit(cap + 1)
                .subquery()
            )
            .scalar_subquery()
            for team_id in team_ids
        ]
        row = self.session.execute(select(*columns)).one()
        return {team_id: int(n) for team_id, n in zip(team_ids, row, strict=True) if n}

    def backlog_summary(self, team_ids: Sequence[int], now: datetime) -> dict[int, TeamBacklog]:
        """Open tickets per team in one grouped scan: by priority, unassigned, waiting, aging."""
        if not team_ids:
            return {}
        active = self.status_ids(ACTIVE_CATEGORIES)
        pending = self.status_ids((StatusCategory.PENDING,))
        counts = [func.count().filter(Ticket.priority == p) for p in (1, 2, 3, 4)]
        aging = [func.count().filter(Ticket.created_at < now - timedelta(days=d)) for d in AGING_DAYS]
        stmt = (
            select(
                Ticket.team_id,
                func.count(),
                func.count().filter(Ticket.assignee_id.is_(None)),
                func.count().filter(Ticket.status_id.in_(pending)),
                func.min(Ticket.created_at),
                *counts,
                *aging,
            )
            .where(Ticket.team_id.in_(team_ids), Ticket.status_id.in_(active))
            .group_by(Ticket.team_id)
        )
        found = {t: TeamBacklog(t) for t in team_ids}
        for row in self.session.execute(stmt):
            values: list[Any] = list(row)
            team_id = int(values[0])
            found[team_id] = TeamBacklog(
                team_id=team_id,
                open=values[1],
                unassigned=values[2],
                waiting=values[3],
                oldest_at=values[4],
                by_priority=dict(zip((1, 2, 3, 4), values[5:9], strict=True)),
                older_than=dict(zip(AGING_DAYS, values[9:12], strict=True)),
            )
        return found

    def at_risk(self, team_id: int, now: datetime, *, limit: int) -> list[Ticket]:
        """Open tickets of a team that need a lead's eye: P1/P2 with no first response yet,
        and anything unassigned for more than a day. Most urgent, then oldest, first."""
        active = self.status_ids(ACTIVE_CATEGORIES)
        stmt = (
            select(Ticket)
            .options(joinedload(Ticket.assignee))
            .where(
                Ticket.team_id == team_id,
                Ticket.status_id.in_(active),
                or_(
                    (Ticket.priority <= 2) & Ticket.first_response_at.is_(None),
                    Ticket.assignee_id.is_(None) & (Ticket.created_at < now - UNASSIGNED_AT_RISK),
                ),
            )
            .order_by(Ticket.priority, Ticket.created_at, Ticket.id)
            .limit(limit)
        )
        return list(self.session.scalars(stmt))

    # --- workflow configuration -----------------------------------------------------
    def status_by_key(self, key: str) -> Status | None:
        return self.session.scalar(select(Status).where(Status.key == key, Status.is_active))

    def statuses(self) -> list[Status]:
        return list(self.session.scalars(select(Status).where(Status.is_active).order_by(Status.position)))

    def transitions_from(self, status_id: int) -> list[tuple[Status, bool]]:
        """(target status, requester_allowed) pairs in display order."""
        stmt = (
            select(Status, StatusTransition.requester_allowed)
            .join(StatusTransition, StatusTransition.to_status_id == Status.id)
            .where(StatusTransition.from_status_id == status_id, Status.is_active)
            .order_by(Status.position)
        )
        return [(s, bool(r)) for s, r in self.session.execute(stmt)]

    # --- categories -----------------------------------------------------------------
    def category(self, category_id: int) -> Category | None:
        return self.session.scalar(
            select(Category).where(Category.id == category_id).options(joinedload(Category.team))
        )

    def categories(self, team_id: int | None = None) -> list[Category]:
        stmt = (
            select(Category)
            .where(Category.is_active)
            .options(joinedload(Category.team))
            .order_by(Category.position, Category.name)
        )
        if team_id is not None:
            stmt = stmt.where(Category.team_id == team_id)
        return list(self.session.scalars(stmt))

    # --- idempotency ----------------------------------------------------------------
    def idempotency_key(self, user_id: int, key: str) -> IdempotencyKey | None:
        return self.session.get(IdempotencyKey, (user_id, key))

    # --- saved filters --------------------------------------------------------------
    def saved_filters(self, viewer: Viewer) -> list[SavedFilter]:
        shared = SavedFilter.team_id.in_(viewer.team_ids) if viewer.team_ids else false()
        stmt = (
            select(SavedFilter)
            .where(or_(SavedFilter.user_id == viewer.id, shared))
            .order_by(SavedFilter.name)
        )
        return list(self.session.scalars(stmt))

    def saved_filter(self, filter_id: int) -> SavedFilter | None:
        return self.session.get(SavedFilter, filter_id)

    # --- people ---------------------------------------------------------------------
    def teams_by_ids(self, ids: Sequence[int]) -> dict[int, Team]:
        if not ids:
            return {}
        return {t.id: t for t in self.session.scalars(select(Team).where(Team.id.in_(ids)))}

    def user(self, user_id: int) -> User | None:
        return self.session.get(User, user_id)
