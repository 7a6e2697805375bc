"""The `helpdesk` command."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from helpdesk.config import PROJECT_ROOT, get_settings


def _db_upgrade(_: argparse.Namespace) -> int:
    from alembic import command
    from alembic.config import Config

    from helpdesk.db_admin import ensure_database

    ensure_database(get_settings().database_url)
    command.upgrade(Config(str(PROJECT_ROOT / "alembic.ini")), "head")
    print("database is at the latest migration")
    return 0


def _demo_seed(_: argparse.Namespace) -> int:
    from helpdesk.admin.demo import DEMO_PASSWORD, USERS, seed
    from helpdesk.db import transaction

    with transaction() as db:
        created = seed(db)
    if not created:
        print("database already has users: demo seed skipped")
        return 0
    print(f"demo organization seeded. Sign in with any of these (password: {DEMO_PASSWORD}):")
    for email, _name, role, teams, _d, _l in USERS:
        print(f"  {email:32} {role.value:9} {' '.join(teams)}")
    return 0


def _web(args: argparse.Namespace) -> int:
    import uvicorn

    uvicorn.run(
        "helpdesk.app:create_app",
        factory=True,
        host=args.host,
        port=args.port,
        workers=args.workers,
        proxy_headers=True,
        log_level="info",
        access_log=False,
        # Live console streams never finish on their own: without a limit a shutdown waits for them.
        timeout_graceful_shutdown=5,
    )
    return 0


def _user_create(args: argparse.Namespace) -> int:
    from helpdesk.db import transaction
    from helpdesk.errors import DomainError
    from helpdesk.identity import service as identity
    from helpdesk.identity.models import Role

    try:
        with transaction() as db:
            user = identity.create_user(
                db,
                email=args.email,
                name=args.name,
                role=Role(args.role),
                password=args.password,
                team_slugs=args.team or [],
            )
            print(f"created user {user.email} ({user.role.value}) id={user.id}")
    except DomainError as exc:
        print(f"error: {exc.detail}", file=sys.stderr)
        return 1
    return 0


def _token_create(args: argparse.Namespace) -> int:
    from helpdesk.db import transaction
    from helpdesk.identity import service as identity
    from helpdesk.identity.repository import IdentityRepository

    with transaction() as db:
        user = IdentityRepository(db).user_by_email(args.email)
        if user is None:
            print(f"error: no user {args.email}", file=sys.stderr)
            return 1
        print(identity.create_token(db, user, args.name))
    return 0


def _worker(args: argparse.Namespace) -> int:
    # Dramatiq's own runner: process supervision, graceful shutdown, restarts of dead workers.
    argv = [
        sys.executable,
        "-m",
        "dramatiq",
        "helpdesk.workers",
        "--processes",
        str(args.processes),
        "--threads",
        str(args.threads),
    ]
    for queue in args.queue or []:
        argv += ["--queues", queue]
    # Idle consumers poll Redis every dramatiq_worker_timeout ms (default 1 s); 100 ms keeps live
    # updates and notifications well inside a second of the commit.
    os.environ.setdefault("dramatiq_worker_timeout", "100")
    os.execv(sys.executable, argv)  # noqa: S606 - replaces this process with the worker runner
    return 0


def _publisher(_: argparse.Namespace) -> int:
    import logging

    from helpdesk.events.publisher import run

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    run()
    return 0


def _scheduler(args: argparse.Namespace) -> int:
    import logging

    import helpdesk.workers  # noqa: F401 - the actors the jobs enqueue to
    from helpdesk.events.scheduler import run
    from helpdesk.jobs import JOBS

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    ran = run(JOBS, once=args.once, tick_seconds=args.tick)
    if args.once:
        print(f"ran {ran} due job(s)")
    return 0


def _dlq_list(args: argparse.Namespace) -> int:
    from helpdesk.db import transaction
    from helpdesk.events.deadletters import open_letters

    with transaction() as db:
        letters = open_letters(db, args.limit)
        if not letters:
            print("no dead letters")
        for letter in letters:
            last = letter.error.strip().splitlines()[-1] if letter.error.strip() else ""
            print(f"{letter.id:>6}  {letter.failed_at:%Y-%m-%d %H:%M:%S}  {letter.actor_name:30} {last[:80]}")
    return 0


def _dlq_replay(args: argparse.Namespace) -> int:
    from helpdesk.db import transaction
    from helpdesk.errors import DomainError
    from helpdesk.events.deadletters import replay

    if args.id is None and not args.all:
        print("error: give a dead letter id or --all", file=sys.stderr)
        return 2
    try:
        with transaction() as db:
            letters = replay(db, None if args.all else args.id)
    except DomainError as exc:
        print(f"error: {exc.detail}", file=sys.stderr)
        return 1
    print(f"replayed {len(letters)} dead letter(s)")
    return 0


def _notifications_requeue(args: argparse.Namespace) -> int:
    from datetime import timedelta

    from helpdesk.db import transaction
    from helpdesk.notifications.delivery import requeue_stuck

    with transaction() as db:
        ids = requeue_stuck(db, timedelta(seconds=args.older_than))
    print(f"requeued {len(ids)} stuck deliveries")
    return 0


def _token_list(args: argparse.Namespace) -> int:
    from helpdesk.db import transaction
    from helpdesk.identity.repository import IdentityRepository

    with transaction() as db:
        repo = IdentityRepository(db)
        user = repo.user_by_email(args.email)
        if user is None:
            print(f"error: no user {args.email}", file=sys.stderr)
            return 1
        for token in repo.api_tokens(user.id):
            state = f"revoked {token.revoked_at:%Y-%m-%d}" if token.revoked_at else "active"
            used = f"{token.last_used_at:%Y-%m-%d %H:%M}" if token.last_used_at else "never"
            print(f"{token.id:>6}  {token.name:20} {state:18} last used {used}")
    return 0


def _token_revoke(args: argparse.Namespace) -> int:
    from helpdesk.db import transaction
    from helpdesk.identity import service as identity

    with transaction() as db:
        if not identity.revoke_token(db, args.id):
            print(f"error: no active token {args.id}", file=sys.stderr)
            return 1
    print(f"token {args.id} revoked")
    return 0


def _bench_seed(args: argparse.Namespace) -> int:
    from helpdesk.bench_seed import seed_tickets

    seed_tickets(args.tickets, seed=args.seed)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="helpdesk", description="Helpdesk service desk")
    sub = parser.add_subparsers(dest="command", required=True)

    db = sub.add_parser("db", help="database schema").add_subparsers(dest="db_command", required=True)
    db.add_parser("upgrade", help="create the database if missing and migrate").set_defaults(fn=_db_upgrade)

    demo = sub.add_parser("demo", help="demo organization").add_subparsers(dest="demo_command", required=True)
    demo.add_parser("seed", help="seed demo teams, users and requests (empty database only)").set_defaults(
        fn=_demo_seed
    )

    web = sub.add_parser("web", help="serve the web app and API")
    web.add_argument("--host", default=os.environ.get("HOST", "127.0.0.1"))
    web.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
    web.add_argument("--workers", type=int, default=int(os.environ.get("WEB_WORKERS", "1")))
    web.set_defaults(fn=_web)

    worker = sub.add_parser("worker", help="run the Dramatiq workers (notifications, live updates)")
    worker.add_argument("--processes", type=int, default=int(os.environ.get("WORKER_PROCESSES", "2")))
    worker.add_argument("--threads", type=int, default=int(os.environ.get("WORKER_THREADS", "4")))
    worker.add_argument("--queue", action="append", help="only these queues (repeatable)")
    worker.set_defaults(fn=_worker)

    sub.add_parser("publisher", help="move committed outbox rows to the queue").set_defaults(fn=_publisher)

    scheduler = sub.add_parser(
        "scheduler", help="run the periodic jobs (digests, sweeps, retention); one leader among copies"
    )
    scheduler.add_argument("--once", action="store_true", help="run the jobs that are due now, then exit")
    scheduler.add_argument("--tick", type=float, default=5.0, help="seconds between checks (default 5)")
    scheduler.set_defaults(fn=_scheduler)

    dlq = sub.add_parser("dlq", help="dead letters").add_subparsers(dest="dlq_command", required=True)
    dl = dlq.add_parser("list", help="messages that failed their last retry")
    dl.add_argument("--limit", type=int, default=100)
    dl.set_defaults(fn=_dlq_list)
    dr = dlq.add_parser("replay", help="send dead letters again")
    dr.add_argument("id", nargs="?", type=int)
    dr.add_argument("--all", action="store_true")
    dr.set_defaults(fn=_dlq_replay)

    notif = sub.add_parser("notifications", help="outbound mail").add_subparsers(
        dest="notifications_command", required=True
    )
    nr = notif.add_parser("requeue", help="send again the send tasks of deliveries still queued (a sweep)")
    nr.add_argument("--older-than", type=int, default=300, help="seconds queued (default 300)")
    nr.set_defaults(fn=_notifications_requeue)

    user = sub.add_parser("user", help="accounts").add_subparsers(dest="user_command", required=True)
    create = user.add_parser("create", help="create an account")
    create.add_argument("email")
    create.add_argument("--name", required=True)
    create.add_argument("--role", choices=["requester", "agent", "lead", "admin"], default="requester")
    create.add_argument("--team", action="append", help="team slug (repeatable)")
    create.add_argument("--password")
    create.set_defaults(fn=_user_create)

    token = sub.add_parser("token", help="API tokens").add_subparsers(dest="token_command", required=True)
    tc = token.add_parser("create", help="print a new bearer token for a user")
    tc.add_argument("email")
    tc.add_argument("--name", default="cli")
    tc.set_defaults(fn=_token_create)
    tl = token.add_parser("list", help="a user's tokens")
    tl.add_argument("email")
    tl.set_defaults(fn=_token_list)
    tr = token.add_parser("revoke", help="revoke a token by id (see token list)")
    tr.add_argument("id", type=int)
    tr.set_defaults(fn=_token_revoke)

    bench = sub.add_parser("bench", help="benchmark data").add_subparsers(dest="bench_command", required=True)
    bs = bench.add_parser("seed", help="add N tickets shaped like a real service desk")
    bs.add_argument("--tickets", type=int, required=True)
    bs.add_argument("--seed", type=int, default=42)
    bs.set_defaults(fn=_bench_seed)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    result: int = args.fn(args)
    return result


if __name__ == "__main__":
    sys.exit(main())
