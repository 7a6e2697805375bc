"""`helpdesk bench seed --tickets N` (filled in by the benchmark work)."""

from __future__ import annotations


def seed_tickets(n: int, *, seed: int = 42) -> None:
    raise SystemExit("bench seed is not available yet")
