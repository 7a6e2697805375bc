"""All SQL of the identity module."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from helpdesk.identity.models import ApiToken, Role, Team, TeamMember, User, UserSession


class IdentityRepository:
    def __init__(self, session: Session) -> None:
        self.session = session

    def user(self, user_id: int) -> User | None:
        return self.session.get(User, user_id)

    def user_name(self, user_id: int) -> str | None:
        return self.session.scalar(select(User.name).where(User.id == user_id))

    def user_by_email(self, email: str) -> User | None:
        return self.session.scalar(select(User).where(func.lower(User.email) == email.strip().lower()))

    def team_ids(self, user_id: int) -> frozenset[int]:
        rows = self.session.scalars(select(TeamMember.team_id).where(TeamMember.user_id == user_id))
        return frozenset(rows)

    def session_row(self, token_hash: str, now: datetime) -> tuple[UserSession, User] | None:
        row = self.session.execute(
            select(UserSession, User)
            .join(User, User.id == UserSession.user_id)
            .where(UserSession.token_hash == token_hash, UserSession.expires_at > now, User.is_active)
        ).first()
        return (row[0], row[1]) if row else None

    def api_token(self, token_hash: str) -> tuple[ApiToken, User] | None:
        row = self.session.execute(
            select(ApiToken, User)
            .join(User, User.id == ApiToken.user_id)
            .where(ApiToken.token_hash == token_hash, ApiToken.revoked_at.is_(None), User.is_active)
        ).first()
        return (row[0], row[1]) if row else None

    def api_tokens(self, user_id: int) -> list[ApiToken]:
        return list(
            self.session.scalars(select(ApiToken).where(ApiToken.user_id == user_id).order_by(ApiToken.id))
        )

    def team(self, team_id: int) -> Team | None:
        return self.session.get(Team, team_id)

    def team_by_slug(self, slug: str) -> Team | None:
        return self.session.scalar(select(Team).where(Team.slug == slug))

    def teams(self, ids: Sequence[int] | None = None) -> list[Team]:
        stmt = select(Team).where(Team.is_active).order_by(Team.name)
        if ids is not None:
            stmt = stmt.where(Team.id.in_(ids))
        return list(self.session.scalars(stmt))

    def team_agents(self, team_id: int) -> list[User]:
        return list(
            self.session.scalars(
                select(User)
                .join(TeamMember, TeamMember.user_id == User.id)
                .where(
                    TeamMember.team_id == team_id,
                    User.is_active,
                    User.role.in_([Role.AGENT, Role.LEAD, Role.ADMIN]),
                )
                .order_by(User.name)
            )
        )

    def is_member(self, team_id: int, user_id: int) -> bool:
        return (
            self.session.scalar(
                select(func.count())
                .select_from(TeamMember)
                .where(TeamMember.team_id == team_id, TeamMember.user_id == user_id)
            )
            or 0
        ) > 0

    def users_by_ids(self, ids: Sequence[int]) -> dict[int, User]:
        if not ids:
            return {}
        return {u.id: u for u in self.session.scalars(select(User).where(User.id.in_(ids)))}

    def any_user(self) -> bool:
        return self.session.scalar(select(func.count()).select_from(User)) != 0

    def delete_expired_sessions(self, now: datetime) -> int:
        result = self.session.execute(delete(UserSession).where(UserSession.expires_at <= now))
        return int(result.rowcount or 0)  # type: ignore[attr-defined]
