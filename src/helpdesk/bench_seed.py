"""`helpdesk bench seed --tickets N`: bulk benchmark data shaped like a real service desk.

The shape follows the django-helpdesk peer's generator (/work/shared/bench/peer-django-helpdesk/
site/gen_data.py) so both apps are measured on the same data: 5 teams (IT 40%, Applications
20%, Facilities 15%, HR 15%, Security 10%), 50 agents (10 per team), 2,000 requesters with a
skewed activity (a few ask a lot), ~11% open + ~4% reopened tickets skewed to the last weeks,
the rest resolved (25%) or closed (60%) over two years, ~4 conversation messages per ticket
(15% of agent messages are internal notes) and the ticket events of creation, assignment and
status changes. Bench logins: agent0001..agent0050@bench.example (agents) and
user0001..user2000@bench.example (requesters), password "bench".

Speed: rows are generated in Python with one seeded `random.Random` and streamed with
Postgres COPY on the caller's connection, so the seed joins the caller's transaction (the
test's rolled-back transaction, or the CLI's). No ORM per row. Ticket ids and numbers are
reserved from their sequences (numbers from ticket_number_seq) in creation-time order, the
`search` tsvector is left to its GENERATED expression.

This is benchmark tooling, not a use case: it deliberately bypasses the services (no outbox
rows, no notifications) and writes a plausible, internally consistent history directly.
"""

from __future__ import annotations

import json
import random
import sys
import time
from bisect import bisect
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

import psycopg
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

BENCH_PASSWORD = "bench"  # noqa: S105 - documented benchmark credential, only in bench databases
BENCH_DOMAIN = "bench.example"
N_AGENTS = 50
N_REQUESTERS = 2000
BATCH = 20_000

# (team slug, share of tickets) — the peer's queues, mapped onto the demo organization's teams.
TEAM_SHARES = [("it", 0.40), ("applications", 0.20), ("facilities", 0.15), ("hr", 0.15), ("security", 0.10)]
DAY = 86400.0
TWO_YEARS = 730 * DAY

SUBJECTS = {
    "it": [
        "Laptop won't boot after {x} update",
        "VPN drops every few minutes on {x}",
        "Printer on floor {n} jams constantly",
        "Cannot connect to office wifi with {x}",
        "Password reset needed for {x}",
        "Request new monitor for {x} desk",
        "Outlook not syncing on {x}",
        "Docking station not detecting {x}",
        "Printer driver missing on {x}",
        "Slow network share access from {x}",
    ],
    "applications": [
        "{x} crashes when exporting report",
        "Access request for {x}",
        "Error 500 when saving in {x}",
        "{x} license expired",
        "Cannot log in to {x}",
        "Data missing in {x} dashboard",
        "Feature request: bulk edit in {x}",
    ],
    "facilities": [
        "Air conditioning broken in room {n}",
        "Light flickering on floor {n}",
        "Printer room {n} out of toner",
        "Desk chair broken at {x} desk",
        "Leak in kitchen on floor {n}",
        "Badge reader at entrance {n} faulty",
    ],
    "hr": [
        "Question about {x} payslip",
        "Parental leave request for {x}",
        "Update bank details for {x}",
        "Onboarding checklist for {x}",
        "Holiday balance incorrect for {x}",
        "Expense claim rejected for {x}",
    ],
    "security": [
        "Phishing email reported by {x}",
        "Lost badge for {x}",
        "Suspicious login on {x} account",
        "Malware alert on {x} laptop",
        "Request firewall exception for {x}",
    ],
}
THINGS = [
    "Windows 11",
    "macOS",
    "Ubuntu",
    "SAP",
    "Salesforce",
    "Jira",
    "Confluence",
    "Teams",
    "Zoom",
    "the CRM",
    "payroll",
    "the finance team",
    "marketing",
    "sales",
    "reception",
    "the warehouse",
    "building B",
    "the London office",
    "Okta",
    "GitLab",
]
SENTENCES = [
    "This started yesterday afternoon and is blocking my work.",
    "I already restarted the machine twice without any change.",
    "Several colleagues in my team see the same problem.",
    "The error message says the operation timed out.",
    "Could you please look at this before the end of the week?",
    "It worked fine until the last update was installed.",
    "I attached a screenshot of the error in the previous email.",
    "The shared printer prints blank pages intermittently.",
    "Please call me on my mobile if you need more details.",
    "This is urgent because a customer deadline depends on it.",
    "The issue only happens when I am connected through the VPN.",
    "I am not sure whether this is the right queue for this request.",
]
AGENT_REPLIES = [
    "Thanks for reporting, we are looking into it.",
    "Could you tell us the exact time it happened?",
    "We pushed a configuration change, please try again.",
    "Escalated to the second-line team.",
    "A technician will visit your desk tomorrow morning.",
    "We need approval from your manager before proceeding.",
]
REQUESTER_REPLIES = [
    "Still happening on my side, same error as before.",
    "It happened at about 9:30 this morning.",
    "Confirmed working now, thank you!",
    "My manager approved it, see the forwarded email.",
    "Tomorrow morning works for me.",
]
INTERNAL_NOTES = [
    "Checked the logs: same pattern as last week's incident.",
    "Waiting for the vendor to confirm the fix date.",
    "Known issue, linked to the problem record.",
    "Asked the second-line team to take a look.",
]
RESOLUTIONS = [
    "Replaced the faulty hardware.",
    "Reset the account and confirmed access.",
    "Reinstalled the driver; printing works again.",
    "Applied vendor patch.",
    "Granted access after manager approval.",
    "Duplicate of an existing ticket.",
    "User confirmed the issue is gone.",
    "Configuration corrected on the server.",
]
TAGS = {
    "it": ["laptop", "vpn", "printer", "password", "wifi", "email"],
    "applications": ["sap", "crm", "access", "license", "report"],
    "facilities": ["hvac", "lighting", "furniture", "leak", "badge"],
    "hr": ["payroll", "leave", "onboarding", "expenses"],
    "security": ["phishing", "malware", "lost-device", "firewall"],
}
FIRST = ["Anna", "Ben", "Chloe", "David", "Emma", "Felix", "Grace", "Hugo", "Ivy", "Jack"]
FIRST += ["Kara", "Liam", "Maya", "Noah", "Olga", "Paul", "Quinn", "Rosa", "Sam", "Tara"]
LAST = ["Smith", "Jones", "Brown", "Taylor", "Wilson", "Davies", "Evans", "Thomas"]
LAST += ["Roberts", "Walker", "Wright", "Hall", "Green", "Wood", "Clarke", "Hughes"]
DEPARTMENTS = ["Finance", "Sales", "Marketing", "Engineering", "Operations", "Legal", "Support", "HR"]
LOCATIONS = ["HQ", "HQ, floor 2", "HQ, floor 3", "Branch office", "London office", "Remote"]

# Active ticket statuses by whether somebody owns the ticket (key, weight).
UNOWNED_OPEN = [("new", 50), ("triaged", 50)]
OWNED_OPEN = [("assigned", 30), ("in_progress", 40), ("waiting_requester", 20), ("waiting_vendor", 10)]
PRIORITIES = [1, 2, 3, 4]
PRIORITY_CUM = [5, 25, 75, 100]  # P1 5%, P2 20%, P3 50%, P4 25%
CHANNELS = ["portal", "email", "api"]
CHANNEL_CUM = [60, 90, 100]

# Ticket kinds, as in the peer: 11% open (in various active statuses), 4% reopened, 25% resolved, 60% closed.
OPEN, REOPENED, RESOLVED, CLOSED = 0, 1, 2, 3

TICKET_COLUMNS = (
    "id, number, subject, description, category_id, priority, status_id, team_id, assignee_id, "
    "requester_id, requester_department, requester_location, channel, tags, fields, version, "
    "created_at, updated_at, first_response_at, resolved_at, closed_at"
)
MESSAGE_COLUMNS = "ticket_id, author_id, visibility, channel, body, created_at"
EVENT_COLUMNS = "ticket_id, type, actor_id, data, at"
NULL = "\\N"  # COPY text format
T = TypeVar("T")


@dataclass(frozen=True)
class SeedResult:
    tickets: int
    messages: int
    events: int
    users_created: int
    seconds: float


@dataclass(frozen=True)
class _Status:
    id: int
    key: str
    name: str
    category: str


@dataclass(frozen=True)
class _Requester:
    id: int
    department: str  # escaped for COPY
    location: str


@dataclass
class _World:
    team_ids: dict[str, int]
    categories: dict[str, list[int]]  # team slug → active category ids
    statuses: dict[str, _Status]
    agents: dict[str, list[tuple[int, str]]]  # team slug → [(user id, name)] of bench agents in the team
    requesters: list[_Requester]


def _copy_text(value: str) -> str:
    """Escape a value for COPY's text format."""
    return value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


def _raw_connection(session: Session) -> psycopg.Connection[Any]:
    """The psycopg connection under the session, inside the session's current transaction."""
    driver = session.connection().connection.driver_connection
    if not isinstance(driver, psycopg.Connection):
        raise RuntimeError("bench seeding needs the psycopg (3) driver")
    return driver


# --- organization and people --------------------------------------------------------------------


def _ensure_demo_org(session: Session) -> None:
    have = set(session.scalars(text("SELECT slug FROM teams")))
    missing = [slug for slug, _ in TEAM_SHARES if slug not in have]
    if not missing:
        return
    from helpdesk.admin.demo import seed as demo_seed

    if not demo_seed(session):
        raise RuntimeError(
            f"teams {', '.join(missing)} are missing but the database already has users, so the "
            "demo organization cannot be seeded: bench seeding needs a fresh database"
        )
    session.flush()


def _ensure_users(session: Session) -> int:
    """Create the bench agents and requesters that do not exist yet. Returns how many were created."""
    from helpdesk.identity.passwords import hash_password

    pw = hash_password(BENCH_PASSWORD)  # one argon2 hash shared by every bench user
    emails, names, roles, depts, locs = [], [], [], [], []
    for i in range(1, N_AGENTS + 1):
        emails.append(f"agent{i:04d}@{BENCH_DOMAIN}")
        names.append(f"{FIRST[i % 20]} {LAST[i % 16]} (agent {i})")
        roles.append("agent")
        depts.append("Service desk")
        locs.append("HQ")
    for i in range(1, N_REQUESTERS + 1):
        emails.append(f"user{i:04d}@{BENCH_DOMAIN}")
        names.append(f"{FIRST[i % 20]} {LAST[(i // 20) % 16]}")
        roles.append("requester")
        depts.append(DEPARTMENTS[i % len(DEPARTMENTS)])
        locs.append(LOCATIONS[(i * 7) % len(LOCATIONS)])
    result = session.execute(
        text(
            "INSERT INTO users (email, name, role, password_hash, department, location) "
            "SELECT e, n, r, :pw, d, l FROM unnest(CAST(:emails AS text[]), CAST(:names AS text[]), "
            "CAST(:roles AS text[]), CAST(:depts AS text[]), CAST(:locs AS text[])) AS u(e, n, r, d, l) "
            "ON CONFLICT DO NOTHING RETURNING id"
        ),
        {"pw": pw, "emails": emails, "names": names, "roles": roles, "depts": depts, "locs": locs},
    )
    created = len(result.all())
    # Agents 1-10 work in IT, 11-20 in Applications, ... (the peer's staff_by_q split).
    members = [
        (f"agent{i:04d}@{BENCH_DOMAIN}", TEAM_SHARES[(i - 1) * len(TEAM_SHARES) // N_AGENTS][0])
        for i in range(1, N_AGENTS + 1)
    ]
    session.execute(
        text(
            "INSERT INTO team_members (team_id, user_id) "
            "SELECT t.id, u.id FROM unnest(CAST(:emails AS text[]), CAST(:slugs AS text[])) AS m(e, s) "
            "JOIN users u ON lower(u.email) = lower(m.e) JOIN teams t ON t.slug = m.s "
            "ON CONFLICT DO NOTHING"
        ),
        {"emails": [e for e, _ in members], "slugs": [s for _, s in members]},
    )
    return created


def _load_world(session: Session) -> _World:
    team_ids = {str(slug): int(tid) for slug, tid in session.execute(text("SELECT slug, id FROM teams"))}
    categories: dict[str, list[int]] = {slug: [] for slug, _ in TEAM_SHARES}
    rows = session.execute(
        text(
            "SELECT t.slug, c.id FROM categories c JOIN teams t ON t.id = c.team_id "
            "WHERE c.is_active ORDER BY c.position, c.id"
        )
    )
    for slug, cid in rows:
        categories.setdefault(str(slug), []).append(int(cid))
    statuses = {
        str(k): _Status(int(i), str(k), str(n), str(c))
        for i, k, n, c in session.execute(text("SELECT id, key, name, category FROM statuses"))
    }
    needed = {k for k, _ in UNOWNED_OPEN + OWNED_OPEN} | {"reopened", "resolved", "closed"}
    if not needed <= statuses.keys():
        raise RuntimeError(f"statuses missing: {sorted(needed - statuses.keys())}")
    agents: dict[str, list[tuple[int, str]]] = {slug: [] for slug, _ in TEAM_SHARES}
    rows = session.execute(
        text(
            "SELECT t.slug, u.id, u.name FROM team_members m JOIN users u ON u.id = m.user_id "
            "JOIN teams t ON t.id = m.team_id WHERE u.email LIKE :pattern AND u.role <> 'requester' "
            "AND u.is_active ORDER BY u.email"
        ),
        {"pattern": f"agent%@{BENCH_DOMAIN}"},
    )
    for slug, uid, name in rows:
        agents.setdefault(str(slug), []).append((int(uid), str(name)))
    for slug, _ in TEAM_SHARES:
        if not agents[slug]:
            raise RuntimeError(f"team {slug} has no bench agents")
    requesters = [
        _Requester(int(i), _copy_text(str(d or "")), _copy_text(str(loc or "")))
        for i, d, loc in session.execute(
            text(
                "SELECT id, department, location FROM users WHERE email LIKE :pattern AND role = 'requester' "
                "ORDER BY email"
            ),
            {"pattern": f"user%@{BENCH_DOMAIN}"},
        )
    ]
    if not requesters:
        raise RuntimeError("no bench requesters")
    return _World(team_ids, categories, statuses, agents, requesters)


# --- tickets --------------------------------------------------------------------------------------


def _skeleton(rnd: random.Random, n: int, now: float) -> list[tuple[float, int]]:
    """(created epoch, kind) of every ticket, oldest first, so numbers grow with creation time."""
    plan: list[tuple[float, int]] = []
    expo, uniform, rand = rnd.expovariate, rnd.uniform, rnd.random
    for _ in range(n):
        r = rand()
        kind = OPEN if r < 0.11 else REOPENED if r < 0.15 else RESOLVED if r < 0.40 else CLOSED
        # open work skews recent
        age = min(expo(1 / (30 * DAY)), TWO_YEARS) if kind <= REOPENED else uniform(3 * DAY, TWO_YEARS)
        plan.append((now - age, kind))
    plan.sort()
    return plan


class _Timestamps:
    """Fast 'YYYY-MM-DD HH:MM:SS.ffffff+00' text for epoch seconds (date and time of day cached)."""

    def __init__(self) -> None:
        self.days: dict[int, str] = {}
        self.times = [f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}" for s in range(86400)]

    def __call__(self, epoch: float) -> str:
        sec, us = divmod(int(epoch * 1_000_000), 1_000_000)
        day, sec = divmod(sec, 86400)
        prefix = self.days.get(day)
        if prefix is None:
            prefix = self.days[day] = datetime.fromtimestamp(day * 86400, UTC).strftime("%Y-%m-%d ")
        return f"{prefix}{self.times[sec]}.{us:06d}+00"


class _Writer:
    """Generates batches of tickets with their conversation and events as COPY text."""

    def __init__(self, world: _World, rnd: random.Random, now: float) -> None:
        self.w = world
        self.rnd = rnd
        self.now = now
        self.ts = _Timestamps()
        self.slugs = [s for s, _ in TEAM_SHARES]
        self.team_cum: list[float] = []
        cum = 0.0
        for _, share in TEAM_SHARES:
            cum += share
            self.team_cum.append(cum)
        self.team_cum[-1] = 1.0  # random() < 1.0, so bisect always lands on a team
        self.bodies_agent = [_copy_text(b) for b in AGENT_REPLIES]
        self.bodies_req = [_copy_text(b) for b in REQUESTER_REPLIES]
        self.bodies_note = [_copy_text(b) for b in INTERNAL_NOTES]
        self.bodies_res = [_copy_text(b) for b in RESOLUTIONS]
        self.owned_keys = [k for k, _ in OWNED_OPEN]
        self.owned_weights = [wt for _, wt in OWNED_OPEN]
        self.unowned_keys = [k for k, _ in UNOWNED_OPEN]
        self.unowned_weights = [wt for _, wt in UNOWNED_OPEN]
        self._status_json: dict[tuple[str, str, str | None], str] = {}
        self._assigned_json: dict[int, str] = {}
        self.messages = 0
        self.events = 0

    def status_data(self, before: str, after: str, reason: str | None = None) -> str:
        """The data of a ticket.status_changed event as the service writes it (cached: few variants)."""
        key = (before, after, reason)
        cached = self._status_json.get(key)
        if cached is None:
            b, a = self.w.statuses[before], self.w.statuses[after]
            data: dict[str, Any] = {
                "from": b.key,
                "to": a.key,
                "from_name": b.name,
                "to_name": a.name,
                "to_category": a.category,
            }
            if reason:
                data["reason"] = reason
            cached = self._status_json[key] = _copy_text(json.dumps(data))
        return cached

    def assigned_data(self, owner: tuple[int, str]) -> str:
        cached = self._assigned_json.get(owner[0])
        if cached is None:
            data = {"from": None, "to": owner[0], "to_name": owner[1]}
            cached = self._assigned_json[owner[0]] = _copy_text(json.dumps(data))
        return cached

    def batch(self, plan: list[tuple[float, int]], first_id: int, first_number: int) -> tuple[str, str, str]:
        """COPY text for (tickets, ticket_messages, ticket_events) of one batch."""
        rnd, w, now, ts = self.rnd, self.w, self.now, self.ts
        rand, choices, expo, sample = rnd.random, rnd.choices, rnd.expovariate, rnd.sample

        def pick(seq: Sequence[T]) -> T:  # random.choice without its getrandbits loop
            return seq[int(rand() * len(seq))]

        statuses = w.statuses
        reqs = w.requesters
        n_reqs = len(reqs)
        slugs, team_cum = self.slugs, self.team_cum
        gap = 1 / (20 * 3600)  # messages ~20 h apart on average
        close_gap = 1 / (3 * DAY)
        tickets: list[str] = []
        messages: list[str] = []
        events: list[str] = []
        tout, mout, eout = tickets.append, messages.append, events.append
        n_messages = n_events = 0
        for offset, (created, kind) in enumerate(plan):
            tid, number = first_id + offset, first_number + offset
            slug = slugs[bisect(team_cum, rand())]
            team_id = w.team_ids[slug]
            req = reqs[int(n_reqs * rand() ** 1.6)]
            rid = req.id
            active = kind <= REOPENED
            team_agents = w.agents[slug]
            owner = pick(team_agents) if rand() < (0.7 if active else 0.95) else None
            helper = (owner or pick(team_agents))[0]  # who answers when nobody owns the ticket
            subject = pick(SUBJECTS[slug]).format(x=pick(THINGS), n=1 + int(rand() * 9))
            description = " ".join(sample(SENTENCES, 1 + int(rand() * 4)))
            cats = w.categories.get(slug)
            category_id = pick(cats) if cats and rand() < 0.9 else None
            priority = PRIORITIES[bisect(PRIORITY_CUM, rand() * 100)]
            channel = CHANNELS[bisect(CHANNEL_CUM, rand() * 100)]
            tags = "{" + ",".join(sample(TAGS[slug], 1 + (rand() < 0.5))) + "}" if rand() < 0.25 else "{}"

            # The conversation: k messages after creation; agents and the requester take turns.
            k = 1 + (rand() < 0.5) + (rand() < 0.5) + (rand() < 0.5) + (rand() < 0.5)
            k += (rand() < 0.5) + (rand() < 0.5)  # 1..7, mean 4 (the peer's follow-ups)
            dates: list[float] = []
            t = created
            for _ in range(k):
                t += expo(gap)
                dates.append(t)
            if t >= now:  # a young ticket: squeeze its conversation into the time it has had
                squeeze = (now - created) * (0.5 + 0.5 * rand()) / (t - created)
                dates = [created + (d - created) * squeeze for d in dates]
            first_response: float | None = None
            last = k - 1
            for j in range(k):
                at = dates[j]
                if j == last and kind >= RESOLVED:
                    author, vis, body = helper, "public", pick(self.bodies_res)
                elif j == last and kind == REOPENED:
                    author, vis, body = rid, "public", self.bodies_req[0]
                elif j % 2 == 0:
                    if rand() < 0.15:
                        author, vis, body = helper, "internal", pick(self.bodies_note)
                    else:
                        author, vis, body = helper, "public", pick(self.bodies_agent)
                else:
                    author, vis, body = rid, "public", pick(self.bodies_req)
                if author == rid:
                    mout(f"{tid}\t{rid}\tpublic\t{channel}\t{body}\t{ts(at)}\n")
                else:
                    if first_response is None and vis == "public":
                        first_response = at
                    mout(f"{tid}\t{author}\t{vis}\tportal\t{body}\t{ts(at)}\n")
            n_messages += k

            # Events: created, then assignment or triage, then the moves to the current status.
            created_data = (
                f'{{"number": {number}, "subject": {json.dumps(subject)}, "priority": {priority}, '
                f'"status": "new", "team_id": {team_id}, '
                f'"category_id": {"null" if category_id is None else category_id}, '
                f'"channel": "{channel}", "requester_id": {rid}}}'
            )
            eout(f"{tid}\tticket.created\t{rid}\t{_copy_text(created_data)}\t{ts(created)}\n")
            n_events += 1
            t_pick = created + (dates[0] - created) / 2  # picked up before the first answer
            # The workflow moves to the current status: (actor, from, to, when, reason).
            moves: list[tuple[int, str, str, float, str | None]] = []
            if owner is not None:
                eout(f"{tid}\tticket.assigned\t{helper}\t{self.assigned_data(owner)}\t{ts(t_pick)}\n")
                n_events += 1
                moves.append((helper, "new", "assigned", t_pick, "assigned"))
            elif kind != OPEN:
                moves.append((helper, "new", "triaged", t_pick, None))
            status = moves[-1][2] if moves else "new"
            resolved = closed = NULL
            updated = dates[-1]
            if kind == OPEN:
                if owner is not None:
                    target = choices(self.owned_keys, self.owned_weights)[0]
                else:
                    target = choices(self.unowned_keys, self.unowned_weights)[0]
                if target != status:
                    moves.append((helper, status, target, dates[-1] if owner else t_pick, None))
            elif kind == REOPENED:
                moves.append((helper, status, "resolved", dates[-2] if k > 1 else t_pick, None))
                moves.append((rid, "resolved", "reopened", dates[-1], "requester replied"))
            else:
                moves.append((helper, status, "resolved", dates[-1], None))
                resolved = ts(dates[-1])
                if kind == CLOSED:
                    updated = dates[-1] + expo(close_gap)
                    if updated >= now:
                        updated = dates[-1] + (now - dates[-1]) * rand()
                    moves.append((helper, "resolved", "closed", updated, None))
                    closed = ts(updated)
            for actor, before, after, at, reason in moves:
                data = self.status_data(before, after, reason)
                eout(f"{tid}\tticket.status_changed\t{actor}\t{data}\t{ts(at)}\n")
            n_events += len(moves)
            status = moves[-1][2] if moves else "new"
            version = 1 + k + len(moves) + (owner is not None)
            tout(
                f"{tid}\t{number}\t{_copy_text(subject)}\t{_copy_text(description)}\t"
                f"{NULL if category_id is None else category_id}\t{priority}\t{statuses[status].id}\t"
                f"{team_id}\t{NULL if owner is None else owner[0]}\t{rid}\t{req.department}\t"
                f"{req.location}\t{channel}\t{tags}\t{{}}\t{version}\t{ts(created)}\t{ts(updated)}\t"
                f"{NULL if first_response is None else ts(first_response)}\t{resolved}\t{closed}\n"
            )
        self.messages += n_messages
        self.events += n_events
        return "".join(tickets), "".join(messages), "".join(events)


def _copy(cur: psycopg.Cursor[Any], table: str, columns: str, data: str) -> None:
    with cur.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:  # table and columns are constants
        copy.write(data)


def _reserve_ids(cur: psycopg.Cursor[Any], n: int) -> tuple[int, int]:
    """Reserve n consecutive ticket ids and numbers from their sequences; returns the first of each.

    The EXCLUSIVE table lock (readers still pass) keeps other writers from drawing from the
    sequences between nextval and setval, so both ranges are gap-free."""
    cur.execute("LOCK TABLE tickets IN EXCLUSIVE MODE")
    cur.execute("SELECT pg_get_serial_sequence('tickets', 'id')")
    row = cur.fetchone()
    if row is None or row[0] is None:
        raise RuntimeError("tickets.id has no sequence")
    firsts: list[int] = []
    for seq in (str(row[0]), "ticket_number_seq"):
        cur.execute("SELECT seqincrement FROM pg_sequence WHERE seqrelid = %s::regclass", (seq,))
        inc = cur.fetchone()
        if inc is None or int(inc[0]) != 1:
            raise RuntimeError(f"sequence {seq} must increment by 1")
        cur.execute("SELECT nextval(%s::regclass)", (seq,))
        first = int(cur.fetchone()[0])  # type: ignore[index]
        if n > 1:
            cur.execute("SELECT setval(%s::regclass, %s)", (seq, first + n - 1))
        firsts.append(first)
    return firsts[0], firsts[1]


LOADED_TABLES = ("tickets", "ticket_messages", "ticket_events")


def _drop_secondary_indexes(cur: psycopg.Cursor[Any]) -> list[str]:
    """Drop the loaded tables' indexes that back no constraint; returns their definitions.

    Building an index once after a bulk load is several times faster than maintaining it row
    by row (the GIN full-text index above all). The definitions come from the catalog, so
    whatever the migrations define is recreated exactly, in the same transaction."""
    cur.execute(
        "SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid) FROM pg_index i "
        "WHERE i.indrelid = ANY(%s::regclass[]) AND NOT i.indisprimary "
        "AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid) ORDER BY 1",
        (list(LOADED_TABLES),),
    )
    found = [(str(name), str(ddl)) for name, ddl in cur.fetchall()]
    for name, _ in found:
        cur.execute(f"DROP INDEX {name}")  # a name read from the catalog, already quoted by regclass
    return [ddl for _, ddl in found]


def _can_skip_triggers(cur: psycopg.Cursor[Any]) -> bool:
    """A superuser may switch off the per-row foreign-key triggers, and it is only safe when
    the loaded tables have no INSERT triggers of their own (those would be skipped too)."""
    cur.execute(
        "SELECT current_setting('is_superuser') = 'on' AND NOT EXISTS (SELECT 1 FROM pg_trigger "
        "WHERE tgrelid = ANY(%s::regclass[]) AND NOT tgisinternal AND tgtype & 4 <> 0)",
        (list(LOADED_TABLES),),
    )
    row = cur.fetchone()
    return bool(row and row[0])


def seed_tickets_into(
    session: Session,
    n: int,
    *,
    seed: int = 42,
    batch: int = BATCH,
    bulk: bool | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> SeedResult:
    """Add n bench tickets (and the demo organization and bench users if missing) in the
    session's transaction. The caller commits; run analyze() afterwards for good plans.

    bulk (default: when n is large and at least the tickets already there) drops the loaded
    tables' secondary indexes and rebuilds them at the end, and, for a superuser, skips the
    per-row foreign-key triggers during the COPY (as pg_restore --disable-triggers does;
    every id written was read from the referenced tables just before) unless the tables
    have INSERT triggers of their own."""
    if n < 0:
        raise ValueError("n must be >= 0")
    started = time.perf_counter()
    _ensure_demo_org(session)
    created_users = _ensure_users(session)
    world = _load_world(session)
    session.flush()
    rnd = random.Random(seed)  # noqa: S311 - reproducible fake data, not security
    now = time.time()
    plan = _skeleton(rnd, n, now)
    writer = _Writer(world, rnd, now)
    if n == 0:
        return SeedResult(0, 0, 0, created_users, time.perf_counter() - started)
    raw = _raw_connection(session)
    with raw.cursor() as cur:
        first_id, first_number = _reserve_ids(cur, n)
        if bulk is None:
            cur.execute("SELECT count(*) FROM tickets")
            bulk = n >= 50_000 and n >= int(cur.fetchone()[0])  # type: ignore[index]
        indexes: list[str] = []
        replica = False
        if bulk:
            cur.execute("SET LOCAL maintenance_work_mem = '256MB'")
            indexes = _drop_secondary_indexes(cur)
            replica = _can_skip_triggers(cur)
            if replica:
                cur.execute("SET LOCAL session_replication_role = replica")

        def load(data: tuple[str, str, str]) -> None:
            _copy(cur, "tickets", TICKET_COLUMNS, data[0])
            _copy(cur, "ticket_messages", MESSAGE_COLUMNS, data[1])
            _copy(cur, "ticket_events", EVENT_COLUMNS, data[2])

        # Postgres loads batch i while Python generates batch i+1 (psycopg waits without the GIL).
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="bench-copy") as pool:
            pending: Future[None] | None = None
            for start in range(0, n, batch):
                chunk = plan[start : start + batch]
                data = writer.batch(chunk, first_id + start, first_number + start)
                if pending is not None:
                    pending.result()
                pending = pool.submit(load, data)
                if progress is not None and start > 0:
                    progress(start, n)
            if pending is not None:
                pending.result()
        if replica:
            cur.execute("SET LOCAL session_replication_role = origin")
        for ddl in indexes:
            cur.execute(ddl)  # a definition read from the catalog
        if progress is not None:
            progress(n, n)
    return SeedResult(
        tickets=n,
        messages=writer.messages,
        events=writer.events,
        users_created=created_users,
        seconds=time.perf_counter() - started,
    )


def analyze(engine: Engine | None = None) -> None:
    """VACUUM ANALYZE the seeded tables (what autovacuum would do later), outside a transaction."""
    from helpdesk.db import get_engine

    with (engine or get_engine()).connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        for table in (*LOADED_TABLES, "users", "team_members"):
            conn.execute(text(f"VACUUM (ANALYZE) {table}"))  # constant names


def seed_tickets(n: int, *, seed: int = 42) -> None:
    """The CLI entry point: the whole seed in one transaction, then VACUUM ANALYZE."""
    from helpdesk.db import transaction

    def report(done: int, total: int) -> None:
        if done == total or done % 100_000 == 0:
            sys.stderr.write(f"  {done} / {total} tickets\n")
            sys.stderr.flush()

    t0 = time.perf_counter()
    try:
        with transaction() as session:
            session.execute(text("SET LOCAL synchronous_commit = off"))
            result = seed_tickets_into(session, n, seed=seed, progress=report)
    except RuntimeError as exc:
        raise SystemExit(f"bench seed: {exc}") from exc
    t1 = time.perf_counter()
    analyze()
    t2 = time.perf_counter()
    summary = {
        "tickets": result.tickets,
        "messages": result.messages,
        "events": result.events,
        "users_created": result.users_created,
        "insert_s": round(t1 - t0, 1),
        "vacuum_analyze_s": round(t2 - t1, 1),
        "total_s": round(t2 - t0, 1),
        "tickets_per_s": round(result.tickets / max(t2 - t0, 1e-9)),
    }
    sys.stdout.write(json.dumps(summary) + "\n")
