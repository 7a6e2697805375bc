"""Login, logout, session cookies, CSRF and API tokens through real HTTP requests."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from litestar.testing import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from helpdesk.identity import service as identity
from helpdesk.identity.models import Role, UserSession
from helpdesk.identity.repository import IdentityRepository
from tests.factories import Factory

Client = Callable[..., TestClient[Any]]


def _login_form(client: TestClient[Any]) -> str:
    page = client.get("/login")
    assert page.status_code == 200
    match = re.search(r'name="_csrf" value="([^"]+)"', page.text)
    assert match
    return match.group(1)


def test_password_login_sets_a_hardened_session_cookie_and_rotates_it(
    app_client: Client, factory: Factory, db: Session
) -> None:
    factory.user(Role.REQUESTER, email="pat@example.test", password="correct horse")
    client = app_client()
    token = _login_form(client)
    client.cookies.set("hd_session", "attacker-chosen-session")
    response = client.post(
        "/login",
        data={"email": "PAT@example.test", "password": "correct horse", "_csrf": token},
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/portal"
    cookie = next(h for h in response.headers.get_list("set-cookie") if h.startswith("hd_session="))
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie or "SameSite=Lax" in cookie
    assert "Secure" not in cookie  # BASE_URL is http in tests
    value = cookie.split(";")[0].split("=", 1)[1]
    assert value != "attacker-chosen-session"
    assert len(value) >= 40
    assert client.get("/portal").status_code == 200


def test_wrong_password_shows_an_error_without_saying_which_part_was_wrong(
    app_client: Client, factory: Factory
) -> None:
    factory.user(Role.REQUESTER, email="kim@example.test", password="right")
    client = app_client()
    token = _login_form(client)
    response = client.post("/login", data={"email": "kim@example.test", "password": "wrong", "_csrf": token})
    assert response.status_code == 422
    assert "do not match an account" in response.text
    unknown = client.post("/login", data={"email": "nobody@example.test", "password": "x", "_csrf": token})
    assert unknown.status_code == 422
    assert "do not match an account" in unknown.text


def test_login_form_requires_its_csrf_token(app_client: Client, factory: Factory) -> None:
    factory.user(Role.REQUESTER, email="lee@example.test", password="pw")
    client = app_client()
    _login_form(client)
    response = client.post("/login", data={"email": "lee@example.test", "password": "pw", "_csrf": "forged"})
    assert response.status_code == 403


def test_login_never_redirects_off_site(app_client: Client, factory: Factory) -> None:
    factory.user(Role.AGENT, email="ann@example.test", password="pw")
    client = app_client()
    token = _login_form(client)
    response = client.post(
        "/login",
        data={"email": "ann@example.test", "password": "pw", "_csrf": token, "next": "//evil.example/x"},
        follow_redirects=False,
    )
    assert response.headers["location"] == "/console"


def test_state_changes_without_the_csrf_token_are_refused(app_client: Client, factory: Factory) -> None:
    viewer = factory.user(Role.REQUESTER)
    client = app_client(viewer)
    del client.headers["X-CSRF-Token"]
    response = client.post("/logout", follow_redirects=False)
    assert response.status_code == 403
    response = client.post("/logout", data={"_csrf": "wrong"}, follow_redirects=False)
    assert response.status_code == 403


def test_logout_ends_the_session(app_client: Client, factory: Factory, db: Session) -> None:
    viewer = factory.user(Role.REQUESTER)
    client = app_client(viewer)
    assert client.post("/logout", follow_redirects=False).status_code == 303
    assert (
        db.scalar(select(func.count()).select_from(UserSession).where(UserSession.user_id == viewer.id)) == 0
    )
    response = client.get("/portal", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/login?next=/portal")


def test_anonymous_pages_redirect_to_login_and_api_answers_401_json(app_client: Client) -> None:
    client = app_client()
    response = client.get("/console", follow_redirects=False)
    assert response.status_code == 303
    api = client.get("/api/v1/tickets")
    assert api.status_code == 401
    assert api.json()["error"] == "unauthenticated"


def test_api_tokens_are_stored_hashed_and_can_be_revoked(
    app_client: Client, factory: Factory, db: Session
) -> None:
    viewer = factory.user(Role.AGENT)
    user = IdentityRepository(db).user(viewer.id)
    assert user is not None
    token = identity.create_token(db, user, "ci")
    assert token.startswith("hd_")
    client = app_client()
    ok = client.get("/api/v1/tickets", headers={"Authorization": f"Bearer {token}"})
    assert ok.status_code == 200
    from helpdesk.identity.models import ApiToken

    row = db.scalar(select(ApiToken).where(ApiToken.user_id == viewer.id))
    assert row is not None
    assert token not in row.token_hash
    assert row.token_hash == identity.token_hash(token)
    identity.revoke_token(db, row.id)
    db.flush()
    revoked = client.get("/api/v1/tickets", headers={"Authorization": f"Bearer {token}"})
    assert revoked.status_code == 401
    assert revoked.json()["error"] == "unauthenticated"
