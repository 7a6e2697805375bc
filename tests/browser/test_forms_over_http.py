"""Plain form posts against the real server (no JavaScript, no CSRF header): the CSRF check and
the form dependency both read the body, and must never race each other."""

from __future__ import annotations

import re

import httpx


def test_plain_form_login_is_reliable(live_server: str) -> None:
    statuses = []
    for _ in range(20):
        with httpx.Client(base_url=live_server) as client:
            page = client.get("/login")
            match = re.search(r'name="_csrf" value="([^"]+)"', page.text)
            assert match
            response = client.post(
                "/login", data={"email": "employee@example.com", "password": "demo", "_csrf": match.group(1)}
            )
            statuses.append(response.status_code)
    assert statuses == [303] * 20
