#!/usr/bin/env python3
"""Where a benchmarked page spends its time: SQL (statements, ms) versus the rest (Python:
routing, ORM loading, template rendering), one request at a time, in-process.

usage: DATABASE_URL=postgresql+psycopg://127.0.0.1:5432/helpdesk_bench_100000 \\
       .venv/bin/python bench/page_profile.py [--repeat 20]
Logs in like a browser (GET /login, POST with the form's _csrf). The create rows it adds are
titled "Bench create profile N"; bench/run.sh deletes them with its own.
"""

from __future__ import annotations

import argparse
import logging
import os
import re
import statistics
import sys
import threading
import time
from typing import Any

from litestar.testing import TestClient
from sqlalchemy import event, text

from helpdesk.app import create_app
from helpdesk.db import get_engine


def login(client: TestClient[Any], email: str, password: str) -> str:
    page = client.get("/login").text
    m = re.search(r'name="_csrf" value="([^"]+)"', page)
    assert m, "no _csrf field on /login"
    r = client.post("/login", data={"email": email, "password": password, "_csrf": m.group(1)})
    assert r.status_code in (200, 303), r.status_code
    assert "hd_session" in client.cookies, "login failed"
    return m.group(1)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=20)
    ap.add_argument("--statements", action="store_true", help="list each page's statements (last request)")
    args = ap.parse_args()
    logging.getLogger("httpx").setLevel(logging.WARNING)
    engine = get_engine()
    with engine.connect() as conn:
        it = conn.execute(text("SELECT id FROM teams WHERE slug = 'it'")).scalar_one()
        lo, hi = conn.execute(text("SELECT min(number), max(number) FROM tickets")).one()
    sql: list[float] = []
    statements: list[tuple[float, str]] = []
    local = threading.local()

    @event.listens_for(engine, "before_cursor_execute")
    def _before(*_: Any) -> None:
        local.t = time.perf_counter()

    @event.listens_for(engine, "after_cursor_execute")
    def _after(_c: Any, _cur: Any, statement: str, *_: Any) -> None:
        took = time.perf_counter() - local.t
        sql.append(took)
        statements.append((took, " ".join(statement.split())))

    app = create_app()
    clients: dict[str, TestClient[Any]] = {}
    for who, email, pw in (
        ("agent", "agent0001@bench.example", "bench"),
        ("admin", "admin@example.com", "demo"),
        ("requester", "user0001@bench.example", "bench"),
    ):
        c = TestClient(app, base_url="http://127.0.0.1")
        c.__enter__()
        login(c, email, pw)
        clients[who] = c
    pages = [
        ("list_html", "agent", "/console/teams/it"),
        ("list_json", "agent", f"/api/v1/tickets?team_id={it}&state=open"),
        ("portal_list", "requester", "/portal"),
        ("detail", "admin", "/console/tickets/{n}"),
        ("search_html", "agent", "/console/teams/it?status=all&q=printer"),
        ("search_json_printer", "admin", "/api/v1/tickets?q=printer"),
        ("search_json_toner", "admin", "/api/v1/tickets?q=toner"),
        ("create", "requester", "POST /portal/new"),  # "Bench create ..." rows: bench/run.sh removes them
    ]
    page = clients["requester"].get("/portal/new").text
    token = re.search(r'name="_csrf" value="([^"]+)"', page)
    assert token, "no _csrf field on /portal/new"
    with engine.connect() as conn:
        category = conn.execute(text("SELECT id FROM categories WHERE slug = 'it-network'")).scalar_one()
    form = {"_csrf": token.group(1), "category_id": str(category), "description": "Paper jam again."}

    def request(c: TestClient[Any], path: str, n: int) -> Any:
        if path.startswith("POST "):
            data = {**form, "subject": f"Bench create profile {n}"}
            return c.post(path[5:], data=data, follow_redirects=False)
        return c.get(path.format(n=n))

    print("| page | status | total ms (median) | SQL ms | statements | other ms |")
    print("|---|---|---:|---:|---:|---:|")
    step = max(1, (hi - lo) // max(args.repeat, 1))
    for label, who, path in pages:
        c = clients[who]
        request(c, path, lo)  # warm
        totals, sqls, counts, code = [], [], [], 0
        for i in range(args.repeat):
            sql.clear()
            statements.clear()
            t = time.perf_counter()
            r = request(c, path, lo + (i * step) % (hi - lo + 1))
            totals.append(time.perf_counter() - t)
            code = r.status_code
            sqls.append(sum(sql))
            counts.append(len(sql))
        total, s = statistics.median(totals) * 1000, statistics.median(sqls) * 1000
        n = statistics.median(counts)
        print(f"| {label} | {code} | {total:.1f} | {s:.1f} | {n:.0f} | {total - s:.1f} |")
        if args.statements:
            for took, statement in statements:
                print(f"|   | {took * 1000:.1f} ms | `{statement[:90]} ... {statement[-60:]}` | | | |")
    sys.stdout.flush()
    os._exit(0)  # skip the app's shutdown: background listeners may wait for a broker


if __name__ == "__main__":
    main()
