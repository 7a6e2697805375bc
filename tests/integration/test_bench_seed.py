"""`helpdesk bench seed`: the bulk benchmark data has the peer's shape, is internally
consistent, and the app's list query works on it. Seeds via COPY inside the test's
rolled-back transaction."""

from __future__ import annotations

from collections import Counter

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session

from helpdesk.bench_seed import BENCH_PASSWORD, N_AGENTS, N_REQUESTERS, SeedResult, seed_tickets_into
from helpdesk.identity import service as identity
from helpdesk.identity.models import Role
from helpdesk.identity.repository import IdentityRepository
from helpdesk.identity.viewer import Viewer
from helpdesk.tickets.filters import Cursor, TicketFilters
from helpdesk.tickets.models import StatusCategory
from helpdesk.tickets.repository import TicketRepository

N = 300
BENCH_TICKETS = (
    "SELECT t.* FROM tickets t JOIN users u ON u.id = t.requester_id WHERE u.email LIKE '%@bench.example'"
)


@pytest.fixture
def seeded(db: Session) -> SeedResult:
    return seed_tickets_into(db, N, seed=7)


def _scalar(db: Session, sql: str) -> int:
    return int(db.execute(text(sql)).scalar_one())


def _counts(db: Session, sql: str) -> Counter[object]:
    """{key: count} of a two-column GROUP BY query."""
    return Counter({key: int(n) for key, n in db.execute(text(sql))})


def _viewer(db: Session, email: str) -> Viewer:
    repo = IdentityRepository(db)
    user = repo.user_by_email(email)
    assert user is not None
    return Viewer(
        id=user.id, email=user.email, name=user.name, role=user.role, team_ids=repo.team_ids(user.id)
    )


def test_counts_and_people(db: Session, seeded: SeedResult) -> None:
    assert seeded.tickets == N
    assert _scalar(db, f"SELECT count(*) FROM ({BENCH_TICKETS}) b") == N
    assert 3.5 * N <= seeded.messages <= 4.5 * N  # ~4 follow-ups per ticket, like the peer
    assert _scalar(db, "SELECT count(*) FROM ticket_messages m JOIN users u ON u.id = m.author_id "
                   "WHERE u.email LIKE '%@bench.example'") == seeded.messages  # fmt: skip
    assert seeded.events >= 2 * N  # created + at least one move for most tickets
    assert seeded.users_created == N_AGENTS + N_REQUESTERS
    assert _scalar(db, "SELECT count(*) FROM users WHERE email LIKE 'agent%@bench.example'") == N_AGENTS
    assert _scalar(db, "SELECT count(*) FROM users WHERE email LIKE 'user%@bench.example'") == N_REQUESTERS
    # the demo organization came along (teams, categories, demo logins)
    assert _scalar(db, "SELECT count(*) FROM teams") == 5
    assert IdentityRepository(db).user_by_email("admin@example.com") is not None
    # 10 agents per team, and the bench logins work with the documented password
    per_team = db.execute(
        text(
            "SELECT t.slug, count(*) FROM team_members m JOIN teams t ON t.id = m.team_id "
            "JOIN users u ON u.id = m.user_id WHERE u.email LIKE 'agent%@bench.example' GROUP BY 1"
        )
    ).all()
    assert dict(per_team) == {
        "it": 10,
        "applications": 10,
        "facilities": 10,
        "hr": 10,
        "security": 10,
    }
    agent = identity.authenticate(db, "agent0001@bench.example", BENCH_PASSWORD)
    assert agent is not None
    assert agent.role is Role.AGENT
    assert identity.authenticate(db, "user2000@bench.example", BENCH_PASSWORD) is not None


def test_distributions_roughly_match_the_peer(db: Session, seeded: SeedResult) -> None:
    bench = f"({BENCH_TICKETS}) b"
    teams = _counts(
        db, f"SELECT tm.slug, count(*) FROM {bench} JOIN teams tm ON tm.id = b.team_id GROUP BY 1"
    )
    assert abs(teams["it"] / N - 0.40) < 0.08
    assert abs(teams["security"] / N - 0.10) < 0.05
    categories = _counts(
        db, f"SELECT s.category, count(*) FROM {bench} JOIN statuses s ON s.id = b.status_id GROUP BY 1"
    )
    active = sum(
        categories[c.value] for c in (StatusCategory.NEW, StatusCategory.OPEN, StatusCategory.PENDING)
    )
    assert abs(active / N - 0.15) < 0.06  # 11% open + 4% reopened
    assert abs(categories["closed"] / N - 0.60) < 0.08
    assert abs(categories["resolved"] / N - 0.25) < 0.08
    priorities = _counts(db, f"SELECT priority, count(*) FROM {bench} GROUP BY 1")
    assert set(priorities) <= {1, 2, 3, 4}
    assert priorities.most_common(1)[0][0] == 3
    channels = {c for (c,) in db.execute(text(f"SELECT DISTINCT channel FROM ({BENCH_TICKETS}) b"))}
    assert channels == {"portal", "email", "api"}
    assert _scalar(db, f"SELECT count(*) FROM ({BENCH_TICKETS}) b WHERE tags <> '{{}}'") > N // 10
    # two years of history, open work skewed to recent weeks
    span = _scalar(db, f"SELECT extract(day FROM max(created_at) - min(created_at)) FROM ({BENCH_TICKETS}) b")
    assert 600 <= span <= 731
    visibilities = _counts(db, "SELECT visibility, count(*) FROM ticket_messages GROUP BY 1")
    assert visibilities["internal"] > 0
    assert visibilities["public"] > visibilities["internal"]


def test_data_is_consistent(db: Session, seeded: SeedResult) -> None:
    # every assignee belongs to the ticket's team
    assert (
        _scalar(
            db,
            f"SELECT count(*) FROM ({BENCH_TICKETS}) b WHERE assignee_id IS NOT NULL AND NOT EXISTS "
            "(SELECT 1 FROM team_members m WHERE m.team_id = b.team_id AND m.user_id = b.assignee_id)",
        )
        == 0
    )
    # updated_at is the latest activity; messages and events come after creation
    assert (
        _scalar(
            db,
            f"SELECT count(*) FROM ({BENCH_TICKETS}) b WHERE updated_at < created_at "
            "OR updated_at < (SELECT max(created_at) FROM ticket_messages m WHERE m.ticket_id = b.id) "
            "OR updated_at < (SELECT max(at) FROM ticket_events e WHERE e.ticket_id = b.id) "
            "OR created_at > (SELECT min(created_at) FROM ticket_messages m WHERE m.ticket_id = b.id)",
        )
        == 0
    )
    # requesters never write internal notes; done tickets carry their resolution timestamps
    assert (
        _scalar(
            db,
            f"SELECT count(*) FROM ticket_messages m JOIN ({BENCH_TICKETS}) b ON b.id = m.ticket_id "
            "WHERE m.author_id = b.requester_id AND m.visibility = 'internal'",
        )
        == 0
    )
    assert (
        _scalar(
            db,
            f"SELECT count(*) FROM ({BENCH_TICKETS}) b JOIN statuses s ON s.id = b.status_id "
            "WHERE (s.category IN ('resolved', 'closed')) <> (b.resolved_at IS NOT NULL) "
            "OR (s.category = 'closed') <> (b.closed_at IS NOT NULL)",
        )
        == 0
    )
    # one created event per ticket; the last status event lands on the current status
    assert (
        _scalar(
            db,
            f"SELECT count(*) FROM ticket_events e JOIN ({BENCH_TICKETS}) b ON b.id = e.ticket_id "
            "WHERE e.type = 'ticket.created'",
        )
        == N
    )
    assert (
        _scalar(
            db,
            f"SELECT count(*) FROM ({BENCH_TICKETS}) b JOIN statuses s ON s.id = b.status_id "
            "WHERE s.key <> coalesce((SELECT e.data->>'to' FROM ticket_events e WHERE e.ticket_id = b.id "
            "AND e.type = 'ticket.status_changed' ORDER BY e.at DESC, e.id DESC LIMIT 1), 'new')",
        )
        == 0
    )
    # numbers come from ticket_number_seq, consecutive after the demo tickets, growing with time
    numbers = [
        n for (n,) in db.execute(text(f"SELECT number FROM ({BENCH_TICKETS}) b ORDER BY created_at, id"))
    ]
    assert numbers == list(range(numbers[0], numbers[0] + N))
    assert _scalar(db, "SELECT last_value FROM ticket_number_seq") == numbers[-1]
    # the generated full-text column was filled by Postgres
    assert (
        _scalar(
            db, f"SELECT count(*) FROM ({BENCH_TICKETS}) b WHERE search @@ to_tsquery('simple', 'printer')"
        )
        > 0
    )


def test_list_query_works_on_seeded_data(db: Session, seeded: SeedResult) -> None:
    repo = TicketRepository(db)
    agent = _viewer(db, "agent0001@bench.example")  # an IT agent
    it_id = IdentityRepository(db).team_by_slug("it")
    assert it_id is not None
    filters = TicketFilters(team_id=it_id.id, state="open", limit=10)
    first = repo.page(agent, filters)
    assert first.tickets
    assert all(t.team_id == it_id.id and t.status.category.is_active for t in first.tickets)
    stamps = [(t.updated_at, t.id) for t in first.tickets]
    assert stamps == sorted(stamps, reverse=True)
    if first.next_cursor:
        second = repo.page(agent, filters, Cursor.decode(first.next_cursor))
        assert not {t.id for t in second.tickets} & {t.id for t in first.tickets}
        assert all((t.updated_at, t.id) < stamps[-1] for t in second.tickets)
    # keyword search and a requester's own list
    found = repo.page(agent, TicketFilters(q="printer", limit=20))
    assert found.tickets
    assert all("rinter" in t.subject + t.description for t in found.tickets)
    requester = _viewer(db, "user0001@bench.example")
    mine = repo.page(requester, TicketFilters(mine=True, limit=50))
    assert all(t.requester_id == requester.id for t in mine.tickets)


def test_seeding_again_adds_tickets_and_reuses_people(db: Session, seeded: SeedResult) -> None:
    indexes = _scalar(db, "SELECT count(*) FROM pg_indexes WHERE tablename IN ('tickets', 'ticket_messages')")
    again = seed_tickets_into(db, 40, seed=8, bulk=True)  # the bulk path: drops and rebuilds indexes
    assert again.users_created == 0
    assert _scalar(db, f"SELECT count(*) FROM ({BENCH_TICKETS}) b") == N + 40
    assert (
        _scalar(db, "SELECT count(*) FROM pg_indexes WHERE tablename IN ('tickets', 'ticket_messages')")
        == indexes
    )
    assert _scalar(db, "SELECT count(DISTINCT number) FROM tickets") == _scalar(
        db, "SELECT count(*) FROM tickets"
    )
    role = db.execute(text("SELECT current_setting('session_replication_role')")).scalar_one()
    assert role == "origin"  # foreign-key triggers are back on after the bulk load
