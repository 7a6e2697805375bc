#!/usr/bin/env python3
"""EXPLAIN ANALYZE of the SQL behind the benchmarked pages, run through the app's own
repositories and read models (so the SQL is exactly what the routes send).

usage: DATABASE_URL=postgresql+psycopg://127.0.0.1:5432/helpdesk_bench_1000000 \\
       .venv/bin/python bench/explain.py [--all] > explain.md
Prints markdown: per scenario the number of statements and SQL time, then the plan of the
slowest statement (--all: of every statement slower than 1 ms). Runs in a rolled-back
transaction; each statement is executed once to warm the cache before it is explained.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.orm import Session

from helpdesk.db import get_engine, new_session
from helpdesk.identity.repository import IdentityRepository
from helpdesk.identity.viewer import Viewer
from helpdesk.tickets.backlog import BacklogQuery
from helpdesk.tickets.filters import TicketFilters
from helpdesk.tickets.repository import TicketRepository
from helpdesk.tickets.views import ticket_view

Captured = list[tuple[str, Any, float]]


def viewer(db: Session, email: str) -> Viewer:
    repo = IdentityRepository(db)
    user = repo.user_by_email(email)
    if user is None:
        raise SystemExit(f"no user {email}: is this a bench database?")
    return Viewer(
        id=user.id, email=user.email, name=user.name, role=user.role, team_ids=repo.team_ids(user.id)
    )


def capture(db: Session, fn: Callable[[], object]) -> Captured:
    """Run fn twice (the first run warms caches) and return the second run's statements with timings."""
    fn()
    out: Captured = []
    conn = db.connection()
    started: list[float] = []

    def before(*_: Any) -> None:
        started.append(time.perf_counter())

    def after(_c: Any, _cur: Any, statement: str, parameters: Any, _ctx: Any, _many: bool) -> None:
        out.append((statement, parameters, time.perf_counter() - started.pop()))

    event.listen(conn, "before_cursor_execute", before)
    event.listen(conn, "after_cursor_execute", after)
    try:
        fn()
    finally:
        event.remove(conn, "before_cursor_execute", before)
        event.remove(conn, "after_cursor_execute", after)
    return out


def explain(db: Session, statement: str, parameters: Any) -> str:
    rows = db.connection().exec_driver_sql("EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters)
    return "\n".join(str(r[0]) for r in rows)


def inline(statement: str, parameters: Any) -> str:
    if isinstance(parameters, dict):
        for k, v in sorted(parameters.items(), key=lambda kv: -len(kv[0])):
            statement = statement.replace(f"%({k})s", repr(v) if not isinstance(v, int | float) else str(v))
    return statement


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--all", action="store_true", help="explain every statement slower than 1 ms")
    args = ap.parse_args()
    db = new_session(get_engine())
    db.begin()
    try:
        repo = TicketRepository(db)
        agent = viewer(db, "agent0001@bench.example")
        admin = viewer(db, "admin@example.com")
        requester = viewer(db, "user0001@bench.example")
        it = IdentityRepository(db).team_by_slug("it")
        assert it is not None
        n = db.execute(text("SELECT count(*) FROM tickets")).scalar_one()
        sample = db.execute(
            text("SELECT id FROM tickets ORDER BY id LIMIT 1 OFFSET :o"), {"o": n // 2}
        ).scalar_one()
        backlog = BacklogQuery.parse([]).filters(agent, it.id)
        it_search = BacklogQuery.parse([("status", "all"), ("q", "printer")]).filters(agent, it.id)
        scenarios: list[tuple[str, Callable[[], object]]] = [
            ("team backlog page: open IT tickets, agent (list + count)",
             lambda: (repo.page(agent, backlog), repo.count(agent, backlog))),
            ("API list: team_id=IT&state=open, agent",
             lambda: repo.page(agent, TicketFilters(team_id=it.id, state="open"))),
            ("portal list: my open requests, busiest requester",
             lambda: repo.page(requester, TicketFilters(mine=True, state="open", limit=25))),
            ("search q=printer (~30% of tickets), admin",
             lambda: repo.page(admin, TicketFilters(q="printer"))),
            ("search q=toner (~2.5% of tickets), admin",
             lambda: repo.page(admin, TicketFilters(q="toner"))),
            ("IT backlog search status=all&q=printer, agent (list + count)",
             lambda: (repo.page(agent, it_search), repo.count(agent, it_search))),
            ("ticket detail read model, admin", lambda: ticket_view(db, admin, sample)),
            ("console sidebar: open tickets per team, admin (all 5 teams)",
             lambda: repo.open_counts_by_team(sorted(admin.team_ids))),
        ]  # fmt: skip
        print(f"# EXPLAIN ANALYZE of the benchmarked queries ({n:,} tickets)\n")
        for title, fn in scenarios:
            stmts = capture(db, fn)
            total = sum(t for _, _, t in stmts)
            print(f"## {title}\n\n{len(stmts)} statements, {total * 1000:.1f} ms in SQL\n")
            chosen = [s for s in stmts if s[2] > 0.001] if args.all else [max(stmts, key=lambda s: s[2])]
            for statement, parameters, took in chosen:
                print(f"Statement ({took * 1000:.1f} ms):\n\n```sql\n{inline(statement, parameters)}\n```\n")
                print(f"```\n{explain(db, statement, parameters)}\n```\n")
    finally:
        db.rollback()
        db.close()


if __name__ == "__main__":
    main()
