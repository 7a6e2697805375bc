#!/usr/bin/env python3
"""Notification delivery under a burst: N ticket events, N "request received" mails, timed end to end.

usage: .venv/bin/python bench/notify_burst.py [--events 1000] [--creators 4] [--timeout 180]

On its own database (`helpdesk_bench_notify`, dropped and recreated, migrated, demo seeded) and
Redis namespace (`helpdesk-bench-notify`, flushed before and after), with an in-process SMTP
capture server (aiosmtpd, records each mail's receive time and Message-ID), it starts one
`helpdesk publisher` and `helpdesk worker --processes 2 --threads 4` (SMTP_URL = the capture
server), then the demo employee files N tickets through helpdesk.tickets.service (one transaction
per ticket, from a thread pool). Each ticket.created event plans one request_received mail to the
requester. Once N mails arrived (or the timeout passed) it reports event-to-send latency (SMTP
receive time minus the outbox row's created_at, matched through the delivery's message_id),
throughput, missing and duplicated mails, where the time went (publisher, plan queue, send
queue + SMTP), and how busy the box was with other work. Results: a table on stdout and
bench/results/notify_burst-<time>.json; process logs under /tmp/bench_notify/<time>/.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import platform
import signal
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.parser import BytesHeaderParser
from pathlib import Path
from typing import Any

import psycopg
import redis
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope
from aiosmtpd.smtp import Session as SmtpSession
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.orm import Session

BIN = Path(sys.executable).parent
ROOT = Path(__file__).resolve().parent
SCRATCH = Path(os.environ.get("BENCH_SCRATCH", "/tmp/bench_notify"))  # noqa: S108 - logs only
PG = os.environ.get("BENCH_PG", "postgresql://postgres@127.0.0.1:5432")


# --- SMTP capture ------------------------------------------------------------------------------


@dataclass
class Capture:
    """aiosmtpd handler: (receive time, Message-ID) of every mail, nothing else kept."""

    received: list[tuple[float, str]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server: SMTP, session: SmtpSession, envelope: Envelope) -> str:
        at = time.time()
        raw = envelope.original_content or b""
        headers = BytesHeaderParser().parsebytes(raw if isinstance(raw, bytes) else raw.encode())
        with self.lock:
            self.received.append((at, str(headers.get("Message-ID", "")).strip()))
        return "250 Message accepted"

    def count(self) -> int:
        with self.lock:
            return len(self.received)

    def snapshot(self) -> list[tuple[float, str]]:
        with self.lock:
            return list(self.received)


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


# --- CPU accounting (the box is shared) ----------------------------------------------------------


def cpu_total() -> tuple[int, int]:
    """(busy, total) jiffies of the whole box, from /proc/stat."""
    f = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
    v = [int(x) for x in f]
    user, nice, system, idle, iowait, irq, softirq, steal = v[:8]
    busy = user + nice + system + irq + softirq + steal
    return busy, busy + idle + iowait


def busy_pct(seconds: float) -> float:
    a = cpu_total()
    time.sleep(seconds)
    b = cpu_total()
    return 100.0 * (b[0] - a[0]) / max(1, b[1] - a[1])


def proc_table() -> dict[int, tuple[int, str, int]]:
    """pid -> (ppid, command name, utime + stime ticks) of every process."""
    table: dict[int, tuple[int, str, int]] = {}
    for p in Path("/proc").iterdir():
        if not p.name.isdigit():
            continue
        try:
            s = (p / "stat").read_text()
        except OSError:
            continue  # gone already
        name = s[s.index("(") + 1 : s.rindex(")")]
        rest = s[s.rindex(")") + 2 :].split()
        table[int(p.name)] = (int(rest[1]), name, int(rest[11]) + int(rest[12]))
    return table


def descendants(roots: Iterable[int], table: dict[int, tuple[int, str, int]]) -> set[int]:
    found = set(roots)
    grew = True
    while grew:
        grew = False
        for pid, (ppid, _, _) in table.items():
            if ppid in found and pid not in found:
                found.add(pid)
                grew = True
    return found


@dataclass
class CpuWindow:
    """Who used the CPU between start() and stop(): our processes, shared services (Postgres
    background processes, redis-server), and everybody else (other people's work)."""

    before: dict[int, tuple[int, str, int]] = field(default_factory=dict)
    t0: tuple[int, int] = (0, 0)
    loadavg_start: str = ""

    def start(self) -> None:
        self.loadavg_start = Path("/proc/loadavg").read_text().strip()
        self.t0 = cpu_total()
        self.before = proc_table()

    def stop(
        self, roles: dict[str, set[int]], shared: set[int], after: dict[int, tuple[int, str, int]]
    ) -> dict[str, Any]:
        t1 = cpu_total()
        elapsed = max(1, t1[1] - self.t0[1])  # jiffies over all CPUs
        buckets = {"ours": 0, "shared": 0, "foreign": 0}
        by_role: collections.Counter[str] = collections.Counter()
        foreign_by_name: collections.Counter[str] = collections.Counter()
        for pid, (_, name, ticks) in after.items():
            delta = ticks - (self.before[pid][2] if pid in self.before else 0)
            if delta <= 0:
                continue
            role = next((r for r, pids in roles.items() if pid in pids), None)
            if role is not None:
                buckets["ours"] += delta
                by_role[role] += delta
            elif pid in shared or name == "redis-server":
                buckets["shared"] += delta
            else:
                buckets["foreign"] += delta
                foreign_by_name[name] += delta
        return {
            "box_busy_pct": round(100.0 * (t1[0] - self.t0[0]) / elapsed, 1),
            "ours_cpu_pct": round(100.0 * buckets["ours"] / elapsed, 1),
            "ours_by_role_pct": {k: round(100.0 * v / elapsed, 1) for k, v in by_role.most_common()},
            "window_s": round(elapsed / (os.cpu_count() or 1) / os.sysconf("SC_CLK_TCK"), 2),
            "shared_cpu_pct": round(100.0 * buckets["shared"] / elapsed, 1),
            "foreign_cpu_pct": round(100.0 * buckets["foreign"] / elapsed, 1),
            # CPU of processes that ended during the run (short test runs, a profiler, ...).
            "unattributed_cpu_pct": round(
                100.0 * ((t1[0] - self.t0[0]) - sum(buckets.values())) / elapsed, 1
            ),
            "foreign_top": {k: round(100.0 * v / elapsed, 1) for k, v in foreign_by_name.most_common(6)},
            "loadavg_start": self.loadavg_start,
            "loadavg_end": Path("/proc/loadavg").read_text().strip(),
        }


def wait_quiet(max_pct: float, max_wait: float) -> tuple[float, bool]:
    """Wait until the box is at most max_pct busy twice in a row; returns (waited s, quiet?)."""
    start = time.monotonic()
    ok = 0
    while time.monotonic() - start < max_wait:
        if busy_pct(1.0) <= max_pct:
            ok += 1
            if ok >= 2:
                return time.monotonic() - start, True
        else:
            ok = 0
    return time.monotonic() - start, False


# --- database, Redis, processes ----------------------------------------------------------------


def recreate_database(name: str) -> None:
    with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def drop_database(name: str) -> None:
    with psycopg.connect(f"{PG}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def flush_namespace(client: redis.Redis, namespace: str) -> int:
    keys = list(client.scan_iter(namespace + ":*"))
    for key in keys:
        client.delete(key)
    return len(keys)


def start(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [str(BIN / "helpdesk"), *args],
        env=env,
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
        start_new_session=True,  # its own process group: stop() signals the worker's children too
    )


def stop(proc: subprocess.Popen[bytes], timeout: float = 30.0) -> str:
    if proc.poll() is not None:
        return f"exited {proc.returncode}"
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=timeout)
        return "stopped"
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
        return "killed"


def wait_for_log(log: Path, needle: str, times: int, proc: subprocess.Popen[bytes], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if log.exists() and log.read_text(errors="replace").count(needle) >= times:
            return
        if proc.poll() is not None:
            raise RuntimeError(f"{log.name}: process exited {proc.returncode}; see {log}")
        time.sleep(0.2)
    raise RuntimeError(f"{log.name}: no {needle!r} x{times} within {timeout:.0f} s; see {log}")


# --- the burst -----------------------------------------------------------------------------------


def make_burst(
    engine: Engine, events: int, creators: int, per_tx: int, rate: float = 0.0
) -> list[tuple[int, float]]:
    """The demo employee files `events` tickets through the service layer; (ticket id, commit time).
    rate: tickets per second (spread evenly); 0 files them as fast as the creators can."""
    from helpdesk.identity.repository import IdentityRepository
    from helpdesk.identity.viewer import Viewer
    from helpdesk.tickets import service as tickets

    with Session(engine) as db:
        repo = IdentityRepository(db)
        user = repo.user_by_email("employee@example.com")
        it = repo.team_by_slug("it")
        assert user is not None, "demo organization missing"
        assert it is not None, "demo organization missing"
        viewer = Viewer(user.id, user.email, user.name, user.role, repo.team_ids(user.id))
        team_id = it.id

    start = time.monotonic()

    def one_tx(first: int) -> list[tuple[int, float]]:
        if rate > 0:
            time.sleep(max(0.0, start + first / rate - time.monotonic()))
        ids: list[int] = []
        with Session(engine, expire_on_commit=False) as db, db.begin():
            for i in range(first, min(first + per_tx, events)):
                new = tickets.NewTicket(
                    subject=f"Bench burst {i}: printer on floor 3 jams",
                    description="The printer by the kitchen jams on every second page.",
                    team_id=team_id,
                )
                ids.append(tickets.create_ticket(db, viewer, new).ticket.id)
        committed = time.time()
        return [(i, committed) for i in ids]

    with ThreadPoolExecutor(max_workers=creators) as pool:
        batches = pool.map(one_tx, range(0, events, per_tx))
        return [row for batch in batches for row in batch]


def settle(engine: Engine, capture: Capture, timeout: float) -> int:
    """Wait until the outbox is published, no delivery is queued and the inbox stopped growing
    for 1.5 s; then empty the inbox. Returns how many mails were dropped."""
    deadline = time.monotonic() + timeout
    last, stable_since = -1, time.monotonic()
    while time.monotonic() < deadline:
        with engine.connect() as conn:
            pending = conn.execute(
                text(
                    "SELECT (SELECT count(*) FROM outbox WHERE published_at IS NULL)"
                    " + (SELECT count(*) FROM notification_deliveries WHERE status = 'queued')"
                )
            ).scalar_one()
        n = capture.count()
        if n != last or pending:
            last, stable_since = n, time.monotonic()
        elif time.monotonic() - stable_since >= 1.5:
            break
        time.sleep(0.25)
    with capture.lock:
        dropped = len(capture.received)
        capture.received.clear()
    return dropped


def code_version() -> dict[str, str]:
    """Which helpdesk the processes ran (PYTHONPATH may point at another copy) and the commit."""
    import helpdesk

    head = subprocess.run(
        ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True
    )
    dirty = subprocess.run(
        ["git", "-C", str(ROOT), "status", "--porcelain", "--", "src"], capture_output=True, text=True
    )
    return {
        "helpdesk": str(Path(helpdesk.__file__).parent),
        "git_head": head.stdout.strip(),
        "src_changes": " ".join(line[3:] for line in dirty.stdout.splitlines()),
    }


def pct(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, min(len(ordered), int(-(-q * len(ordered) // 100))))
    return ordered[rank - 1]


def summary(values: list[float]) -> dict[str, float]:
    if not values:
        return {}
    return {
        "n": len(values),
        "min": round(min(values), 4),
        "p50": round(pct(values, 50), 4),
        "p95": round(pct(values, 95), 4),
        "p99": round(pct(values, 99), 4),
        "max": round(max(values), 4),
        "mean": round(statistics.fmean(values), 4),
    }


ROWS_SQL = """
SELECT o.id, o.ticket_id, extract(epoch FROM o.created_at)::float8,
       extract(epoch FROM o.published_at)::float8,
       extract(epoch FROM p.processed_at)::float8, d.id, d.message_id, d.status::text, d.attempts,
       extract(epoch FROM d.created_at)::float8, extract(epoch FROM d.sent_at)::float8
FROM outbox o
LEFT JOIN processed_messages p ON p.consumer = 'notifications.plan' AND p.message_id = o.id::text
LEFT JOIN notification_deliveries d ON d.event_id = o.id AND d.kind = 'request_received'
WHERE o.event_type = 'ticket.created' AND o.ticket_id = ANY(:ids)
"""


def analyse(
    engine: Engine, created: list[tuple[int, float]], received: list[tuple[float, str]]
) -> dict[str, Any]:
    commit_at = dict(created)
    with engine.connect() as conn:
        rows = conn.execute(text(ROWS_SQL), {"ids": list(commit_at)}).all()
    by_mid: dict[str, list[float]] = collections.defaultdict(list)
    for at, mid in received:
        by_mid[mid].append(at)
    duplicates = {mid: len(ats) for mid, ats in by_mid.items() if len(ats) > 1}
    expected = {r[6] for r in rows if r[6] is not None}
    unknown = sorted(set(by_mid) - expected)
    no_delivery = [r[1] for r in rows if r[6] is None]
    missing = sorted(mid for mid in expected if mid not in by_mid)

    latency, from_commit, stages = [], [], collections.defaultdict(list)
    for (
        _oid,
        ticket_id,
        created_at,
        published_at,
        planned_at,
        _did,
        mid,
        _st,
        _att,
        planned_done,
        sent_at,
    ) in rows:
        if mid is None or mid not in by_mid:
            continue
        recv = min(by_mid[mid])
        latency.append(recv - created_at)
        from_commit.append(recv - commit_at[ticket_id])
        stages["commit (outbox created_at -> commit)"].append(commit_at[ticket_id] - created_at)
        if published_at is not None:
            stages["publish (created_at -> published_at)"].append(published_at - created_at)
            if planned_at is not None:
                stages["plan queue (published -> plan tx start)"].append(planned_at - published_at)
        if planned_at is not None and planned_done is not None:
            stages["plan work (tx start -> delivery row)"].append(planned_done - planned_at)
        if planned_done is not None and sent_at is not None:
            stages["send queue + SMTP (delivery row -> sent_at)"].append(sent_at - planned_done)
        if sent_at is not None:
            stages["SMTP receive - sent_at"].append(recv - sent_at)
    first_commit = min(commit_at.values()) if commit_at else 0.0
    first_event = min((r[2] for r in rows), default=first_commit)
    last_recv = max((at for at, _ in received), default=first_commit)
    statuses = collections.Counter(r[7] for r in rows)
    attempts = collections.Counter(r[8] for r in rows if r[8] is not None)
    return {
        "events": len(rows),
        "mails_received": len(received),
        "distinct_message_ids": len(by_mid),
        "missing": len(missing),
        "missing_sample": missing[:10],
        "events_without_delivery": len(no_delivery),
        "duplicates": len(duplicates),
        "duplicate_sample": dict(list(duplicates.items())[:10]),
        "unknown_message_ids": len(unknown),
        "delivery_status": dict(statuses),
        "delivery_attempts": {str(k): v for k, v in attempts.items()},
        "latency_s": summary(latency),
        "latency_from_commit_s": summary(from_commit),
        "stages_s": {k: summary(v) for k, v in stages.items()},
        "burst_commit_s": round(max(commit_at.values()) - first_commit, 3) if commit_at else 0.0,
        "first_event_to_last_mail_s": round(last_recv - first_event, 3),
        "first_commit_to_last_mail_s": round(last_recv - first_commit, 3),
        "throughput_mails_per_s": round(len(by_mid) / max(1e-9, last_recv - first_commit), 1),
        "commit_rate_per_s": round(len(commit_at) / max(1e-9, max(commit_at.values()) - first_commit), 1)
        if commit_at
        else 0.0,
    }


def table(result: dict[str, Any]) -> str:
    a = result["analysis"]
    cpu = result["cpu"]
    lines = [
        f"notify_burst: {a['events']} events, {result['config']['worker']}, publisher x1, SMTP capture",
        "",
        f"{'':46} {'p50':>8} {'p95':>8} {'p99':>8} {'max':>8}",
    ]

    def row(label: str, s: dict[str, float]) -> None:
        if s:
            vals = " ".join(f"{s[k]:8.3f}" for k in ("p50", "p95", "p99", "max"))
            lines.append(f"{label:46} {vals}")

    row("event -> SMTP receive (s, from created_at)", a["latency_s"])
    row("commit -> SMTP receive (s)", a["latency_from_commit_s"])
    lines.append("  where the time goes:")
    for name, s in a["stages_s"].items():
        row("  " + name, s)
    lines += [
        "",
        f"burst: {a['burst_commit_s']} s to commit ({a['commit_rate_per_s']}/s, "
        f"{result['config']['creators']} threads, {result['config']['per_tx']} ticket(s) per transaction)",
        f"throughput: {a['throughput_mails_per_s']} mails/s (first commit -> last receive "
        f"{a['first_commit_to_last_mail_s']} s)",
        f"received {a['mails_received']} mails, {a['distinct_message_ids']} distinct Message-IDs; "
        f"missing {a['missing']}, duplicated {a['duplicates']}, unknown {a['unknown_message_ids']}, "
        f"events without delivery {a['events_without_delivery']}",
        f"deliveries: {a['delivery_status']} attempts {a['delivery_attempts']}",
        f"cpu during run: box {cpu['box_busy_pct']}%, ours {cpu['ours_cpu_pct']}%, "
        f"shared (pg bg, redis) {cpu['shared_cpu_pct']}%, over {cpu['window_s']} s (100% = all cores)",
        f"  ours by role: {cpu['ours_by_role_pct']}",
        f"  others: {cpu['foreign_cpu_pct']}% + ended during the run {cpu['unattributed_cpu_pct']}% "
        f"{cpu['foreign_top']}",
        f"loadavg start {cpu['loadavg_start']} / end {cpu['loadavg_end']}; "
        f"waited {result['quiet_wait_s']} s for a quiet box (quiet={result['quiet']})",
        f"verdict: p99 {a['latency_s'].get('p99', float('nan')):.3f} s vs target <= 2 s: "
        + ("OK" if a["latency_s"].get("p99", 1e9) <= 2.0 else "ABOVE TARGET"),
    ]
    return "\n".join(lines)


# --- main -----------------------------------------------------------------------------------------


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--events", type=int, default=1000)
    ap.add_argument("--creators", type=int, default=4, help="threads creating tickets")
    ap.add_argument("--per-tx", type=int, default=1, help="tickets per transaction")
    ap.add_argument("--rate", type=float, default=0.0, help="tickets per second (0: as fast as possible)")
    ap.add_argument("--processes", type=int, default=2, help="worker processes")
    ap.add_argument("--threads", type=int, default=4, help="worker threads per process")
    ap.add_argument("--timeout", type=float, default=180.0, help="seconds to wait for the mails")
    ap.add_argument("--grace", type=float, default=3.0, help="seconds to wait for late duplicates")
    ap.add_argument("--db", default="helpdesk_bench_notify")
    ap.add_argument("--namespace", default="helpdesk-bench-notify")
    ap.add_argument("--quiet-pct", type=float, default=30.0, help="box busy %% that counts as quiet")
    ap.add_argument("--quiet-wait", type=float, default=60.0, help="max seconds to wait for quiet")
    ap.add_argument("--keep-db", action="store_true")
    args = ap.parse_args()

    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    scratch = SCRATCH / stamp
    scratch.mkdir(parents=True, exist_ok=True)
    db_url = f"{PG.replace('postgresql://', 'postgresql+psycopg://')}/{args.db}"
    redis_url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    capture = Capture()
    smtp_port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": db_url,
        "REDIS_URL": redis_url,
        "REDIS_NAMESPACE": args.namespace,
        "SMTP_URL": f"smtp://127.0.0.1:{smtp_port}",
    }
    os.environ.update({k: env[k] for k in ("DATABASE_URL", "REDIS_URL", "REDIS_NAMESPACE", "SMTP_URL")})
    from helpdesk.config import get_settings

    get_settings.cache_clear()

    print(f"setting up {args.db} and Redis namespace {args.namespace} (logs: {scratch})", flush=True)
    recreate_database(args.db)
    setup_log = (scratch / "setup.log").open("ab")
    for cmd in (["db", "upgrade"], ["demo", "seed"]):
        subprocess.run([str(BIN / "helpdesk"), *cmd], env=env, check=True, stdout=setup_log, stderr=setup_log)
    client = redis.Redis.from_url(redis_url)
    flush_namespace(client, args.namespace)

    controller = Controller(capture, hostname="127.0.0.1", port=smtp_port)
    controller.start()
    procs: dict[str, subprocess.Popen[bytes]] = {}
    engine = create_engine(db_url, pool_size=args.creators + 2, connect_args={"options": "-c jit=off"})
    result: dict[str, Any] = {}
    try:
        worker_args = ["worker", "--processes", str(args.processes), "--threads", str(args.threads)]
        procs["worker"] = start(worker_args, env, scratch / "worker.log")
        procs["publisher"] = start(["publisher"], env, scratch / "publisher.log")
        wait_for_log(scratch / "worker.log", "ready for action", args.processes, procs["worker"], timeout=90)
        wait_for_log(scratch / "publisher.log", "publisher started", 1, procs["publisher"], timeout=60)
        # demo seed wrote events too: let their mails go out, then start from an empty inbox.
        settled = settle(engine, capture, timeout=60)
        print(f"seed events drained ({settled} mails), inbox cleared", flush=True)

        waited, quiet = wait_quiet(args.quiet_pct, args.quiet_wait)
        print(f"box quiet={quiet} after {waited:.0f} s; loadavg {Path('/proc/loadavg').read_text().strip()}")
        cpu = CpuWindow()
        cpu.start()
        t_start = time.time()
        print(f"burst: {args.events} tickets from {args.creators} threads ...", flush=True)
        created = make_burst(engine, args.events, args.creators, args.per_tx, args.rate)
        t_burst = time.time()
        print(f"  committed in {t_burst - t_start:.2f} s; waiting for {args.events} mails", flush=True)
        deadline = t_start + args.timeout
        while capture.count() < args.events and time.time() < deadline:
            time.sleep(0.05)
        t_done = time.time()
        timed_out = capture.count() < args.events
        after = proc_table()
        with engine.connect() as conn:
            backends = {
                int(pid)
                for (pid,) in conn.execute(
                    text("SELECT pid FROM pg_stat_activity WHERE datname = :db"), {"db": args.db}
                )
            }
            pg_shared = {
                int(pid)
                for (pid,) in conn.execute(
                    text("SELECT pid FROM pg_stat_activity WHERE datname IS NULL AND pid IS NOT NULL")
                )
            }
        roles = {"bench (creators + SMTP capture)": {os.getpid()}, "postgres backends (our db)": backends}
        for name, proc in procs.items():
            roles[name] = descendants([proc.pid], after)
        usage = cpu.stop(roles, pg_shared, after)
        if not timed_out:
            time.sleep(args.grace)  # a duplicate would arrive shortly after
        received = capture.snapshot()
        result = {
            "benchmark": "notify_burst",
            "time": stamp,
            "config": {
                "events": args.events,
                "creators": args.creators,
                "per_tx": args.per_tx,
                "rate": args.rate,
                "worker": f"worker --processes {args.processes} --threads {args.threads}",
                "publisher": 1,
                "smtp": "aiosmtpd capture in the benchmark process",
                "timeout_s": args.timeout,
                "db": args.db,
                "redis_namespace": args.namespace,
            },
            "machine": {
                "cpus": os.cpu_count(),
                "python": platform.python_version(),
                "node": platform.node(),
            },
            "code": code_version(),
            "timed_out": timed_out,
            "wait_s": round(t_done - t_start, 3),
            "quiet": quiet,
            "quiet_wait_s": round(waited, 1),
            "cpu": usage,
            "analysis": analyse(engine, created, received),
            "logs": str(scratch),
        }
    finally:
        for name, proc in procs.items():
            print(f"{name}: {stop(proc)}", flush=True)
        controller.stop()
        engine.dispose()
        flush_namespace(client, args.namespace)
        client.close()
        setup_log.close()
        if not args.keep_db:
            drop_database(args.db)

    out_dir = ROOT / "results"
    out_dir.mkdir(exist_ok=True)
    out = out_dir / f"notify_burst-{stamp}.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    print()
    print(table(result))
    print(f"\nJSON: {out}")
    a = result["analysis"]
    ok = not result["timed_out"] and a["missing"] == 0 and a["duplicates"] == 0
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
