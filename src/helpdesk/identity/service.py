"""Identity use cases: accounts, password login, browser sessions and API tokens."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete
from sqlalchemy.orm import Session

from helpdesk.clock import Clock, system_clock
from helpdesk.errors import Conflict, ValidationFailed
from helpdesk.identity.models import ApiToken, Role, TeamMember, User, UserSession
from helpdesk.identity.passwords import hash_password, verify_password
from helpdesk.identity.repository import IdentityRepository
from helpdesk.identity.viewer import Viewer

SESSION_LIFETIME = timedelta(days=7)
TOKEN_PREFIX = "hd_"  # noqa: S105 - a public marker that makes leaked tokens greppable, not a secret


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _viewer(user: User, team_ids: frozenset[int], csrf: str | None) -> Viewer:
    return Viewer(
        id=user.id, email=user.email, name=user.name, role=user.role, team_ids=team_ids, csrf_token=csrf
    )


def create_user(
    session: Session,
    *,
    email: str,
    name: str,
    role: Role,
    password: str | None = None,
    team_slugs: list[str] | None = None,
    department: str | None = None,
    location: str | None = None,
) -> User:
    repo = IdentityRepository(session)
    email = email.strip()
    if "@" not in email or len(email) > 320:
        raise ValidationFailed(
            "Enter a valid email address.", fields={"email": "Enter a valid email address."}
        )
    if not name.strip():
        raise ValidationFailed("Name is required.", fields={"name": "Name is required."})
    if repo.user_by_email(email):
        raise Conflict(f"A user with email {email} already exists.")
    user = User(
        email=email,
        name=name.strip(),
        role=role,
        password_hash=hash_password(password) if password else None,
        department=department,
        location=location,
    )
    session.add(user)
    session.flush()
    for slug in team_slugs or []:
        team = repo.team_by_slug(slug)
        if team is None:
            raise ValidationFailed(f"Unknown team {slug!r}.", fields={"team": f"Unknown team {slug!r}."})
        session.add(TeamMember(team_id=team.id, user_id=user.id))
    session.flush()
    return user


def authenticate(session: Session, email: str, password: str) -> User | None:
    user = IdentityRepository(session).user_by_email(email)
    ok = verify_password(user.password_hash if user else None, password)
    return user if ok and user is not None and user.is_active else None


@dataclass(frozen=True)
class NewSession:
    token: str
    csrf_token: str
    expires_at: datetime


def start_session(
    session: Session, user: User, *, previous_token: str | None = None, clock: Clock = system_clock
) -> NewSession:
    """A fresh token at every login (session fixation defence); the old one, if any, is dropped."""
    if previous_token:
        end_session(session, previous_token)
    token = secrets.token_urlsafe(32)
    csrf = secrets.token_urlsafe(32)
    expires = clock() + SESSION_LIFETIME
    session.add(
        UserSession(token_hash=token_hash(token), user_id=user.id, csrf_token=csrf, expires_at=expires)
    )
    session.flush()
    return NewSession(token=token, csrf_token=csrf, expires_at=expires)


def end_session(session: Session, token: str) -> None:
    session.execute(delete(UserSession).where(UserSession.token_hash == token_hash(token)))


def purge_expired_sessions(session: Session, now: datetime) -> int:
    """Expired logins are already refused; this keeps the table small (a scheduler job)."""
    return IdentityRepository(session).delete_expired_sessions(now)


def viewer_for_session(session: Session, token: str, *, clock: Clock = system_clock) -> Viewer | None:
    repo = IdentityRepository(session)
    found = repo.session_row(token_hash(token), clock())
    if found is None:
        return None
    row, user = found
    return _viewer(user, repo.team_ids(user.id), row.csrf_token)


def viewer_for_token(session: Session, token: str, *, clock: Clock = system_clock) -> Viewer | None:
    repo = IdentityRepository(session)
    found = repo.api_token(token_hash(token))
    if found is None:
        return None
    api_token, user = found
    now = clock()
    # Only touch last_used_at once a minute so reads do not turn into writes on every request.
    if api_token.last_used_at is None or now - api_token.last_used_at > timedelta(minutes=1):
        api_token.last_used_at = now
    return _viewer(user, repo.team_ids(user.id), None)


def create_token(session: Session, user: User, name: str = "cli") -> str:
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    session.add(ApiToken(user_id=user.id, name=name[:100], token_hash=token_hash(token)))
    session.flush()
    return token


def revoke_token(session: Session, token_id: int, *, clock: Clock = system_clock) -> bool:
    """Revoke an active token; False if there is no such active token."""
    api_token = session.get(ApiToken, token_id)
    if api_token is None or api_token.revoked_at is not None:
        return False
    api_token.revoked_at = clock()
    return True
