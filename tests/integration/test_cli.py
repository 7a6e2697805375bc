"""The `helpdesk` command against the test database (these commands commit)."""

from __future__ import annotations

import uuid

import pytest
from sqlalchemy import Engine

from helpdesk.cli import main


def test_user_and_token_lifecycle(engine: Engine, capsys: pytest.CaptureFixture[str]) -> None:
    email = f"cli-{uuid.uuid4().hex[:8]}@example.test"
    assert main(["user", "create", email, "--name", "Cli User", "--role", "agent", "--password", "pw"]) == 0
    assert main(["user", "create", email, "--name", "Again"]) == 1
    assert "already exists" in capsys.readouterr().err

    assert main(["token", "create", email, "--name", "ci"]) == 0
    token = capsys.readouterr().out.strip()
    assert token.startswith("hd_")
    assert main(["token", "list", email]) == 0
    listing = capsys.readouterr().out
    assert "ci" in listing
    assert "active" in listing
    token_id = int(listing.split()[0])
    assert main(["token", "revoke", str(token_id)]) == 0
    assert main(["token", "revoke", str(token_id)]) == 1
    assert main(["token", "list", email]) == 0
    assert "revoked" in capsys.readouterr().out


def test_dlq_commands_with_nothing_dead(engine: Engine, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["dlq", "list"]) == 0
    assert main(["dlq", "replay"]) == 2
    assert main(["dlq", "replay", "999999"]) == 1
    assert "No open dead letter" in capsys.readouterr().err
