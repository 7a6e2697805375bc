"""Test data built through the same services production uses."""

from __future__ import annotations

import itertools
from typing import Any

from litestar.testing import TestClient
from sqlalchemy.orm import Session

from helpdesk.identity import service as identity
from helpdesk.identity.models import Role, Team, User
from helpdesk.identity.repository import IdentityRepository
from helpdesk.identity.viewer import Viewer
from helpdesk.tickets import service as tickets
from helpdesk.tickets.models import Category, Ticket
from helpdesk.web.deps import SESSION_COOKIE

_seq = itertools.count(1)


class Factory:
    def __init__(self, db: Session) -> None:
        self.db = db

    def team(self, slug: str | None = None, name: str | None = None) -> Team:
        n = next(_seq)
        team = Team(slug=slug or f"team{n}", name=name or f"Team {n}")
        self.db.add(team)
        self.db.flush()
        return team

    def user(
        self,
        role: Role | str = Role.REQUESTER,
        teams: list[Team] | None = None,
        email: str | None = None,
        name: str | None = None,
        password: str | None = None,
    ) -> Viewer:
        n = next(_seq)
        role = Role(role)
        user = identity.create_user(
            self.db,
            email=email or f"{role.value}{n}@example.test",
            name=name or f"{role.value.title()} {n}",
            role=role,
            password=password,
            team_slugs=[t.slug for t in teams or []],
        )
        return self.viewer(user)

    def viewer(self, user: User) -> Viewer:
        team_ids = IdentityRepository(self.db).team_ids(user.id)
        return Viewer(id=user.id, email=user.email, name=user.name, role=user.role, team_ids=team_ids)

    def category(
        self,
        team: Team,
        *,
        fields: list[dict[str, Any]] | None = None,
        name: str | None = None,
        guidance: str = "Tell us what happened.",
    ) -> Category:
        n = next(_seq)
        cat = Category(
            team_id=team.id,
            slug=f"cat{n}",
            name=name or f"Category {n}",
            guidance=guidance,
            fields=fields or [],
        )
        self.db.add(cat)
        self.db.flush()
        return cat

    def ticket(
        self,
        requester: Viewer,
        *,
        team: Team | None = None,
        category: Category | None = None,
        subject: str = "Printer on floor 2 jams",
        description: str = "It jams on every page.",
        priority: int | None = None,
        **fields: str,
    ) -> Ticket:
        data = tickets.NewTicket(
            subject=subject,
            description=description,
            category_id=category.id if category else None,
            team_id=team.id if team else None,
            priority=priority,
            fields=fields,
        )
        return tickets.create_ticket(self.db, requester, data).ticket

    def login(self, client: TestClient, viewer: Viewer) -> Viewer:  # type: ignore[type-arg]
        user = IdentityRepository(self.db).user(viewer.id)
        assert user is not None
        new = identity.start_session(self.db, user)
        client.cookies.set(SESSION_COOKIE, new.token)
        client.headers["X-CSRF-Token"] = new.csrf_token
        return viewer
