"""Who is asking: the authenticated principal every policy decision is made for."""

from __future__ import annotations

from dataclasses import dataclass, field

from helpdesk.identity.models import Role


@dataclass(frozen=True)
class Viewer:
    id: int
    email: str
    name: str
    role: Role
    team_ids: frozenset[int] = field(default_factory=frozenset)
    csrf_token: str | None = None

    @property
    def is_agent(self) -> bool:
        return self.role in (Role.AGENT, Role.LEAD, Role.ADMIN)

    @property
    def is_lead(self) -> bool:
        return self.role in (Role.LEAD, Role.ADMIN)

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN
