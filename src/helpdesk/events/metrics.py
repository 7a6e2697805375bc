"""Prometheus figures for the async backbone, computed when /metrics is scraped."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator

import redis
from dramatiq.broker import Broker
from dramatiq.middleware import Middleware
from prometheus_client.core import REGISTRY, CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import text

from helpdesk.config import get_settings
from helpdesk.db import get_engine

log = logging.getLogger("helpdesk.metrics")
QUEUES = ("default", "notifications", "deliveries", "live")


def _failures_key() -> str:
    return f"{get_settings().redis_namespace}:metrics:actor_failures"


class FailureCounter(Middleware):
    """Counts failed actor runs in Redis, so every worker process adds to one figure."""

    def __init__(self, client: redis.Redis | None = None) -> None:
        self.client = client

    def after_process_message(
        self,
        broker: Broker,
        message: object,
        *,
        result: object = None,
        exception: BaseException | None = None,
    ) -> None:
        if exception is None:
            return
        try:
            client = self.client or redis.Redis.from_url(get_settings().redis_url)
            client.hincrby(_failures_key(), getattr(message, "actor_name", "unknown"), 1)
        except redis.RedisError:
            log.warning("could not count an actor failure")


class BackboneCollector(Collector):
    def collect(self) -> Iterator[Metric]:
        yield from self._outbox()
        yield from self._queues()

    def _outbox(self) -> Iterator[Metric]:
        try:
            with get_engine().connect() as conn:
                backlog, oldest = conn.execute(
                    text(
                        "SELECT count(*), coalesce(extract(epoch FROM now() - min(created_at)), 0) "
                        "FROM outbox WHERE published_at IS NULL"
                    )
                ).one()
                dead = conn.scalar(text("SELECT count(*) FROM dead_letters WHERE replayed_at IS NULL"))
                jobs = conn.execute(
                    text(
                        "SELECT name, extract(epoch FROM last_ok_at) FROM scheduler_jobs "
                        "WHERE last_ok_at IS NOT NULL"
                    )
                ).all()
        except Exception:  # a scrape must not fail because the database is away
            log.warning("metrics: database unavailable")
            return
        yield GaugeMetricFamily("helpdesk_outbox_backlog", "Outbox rows not yet published.", value=backlog)
        yield GaugeMetricFamily(
            "helpdesk_outbox_oldest_age_seconds",
            "Age of the oldest unpublished outbox row.",
            value=float(oldest),
        )
        yield GaugeMetricFamily("helpdesk_dead_letters", "Dead letters waiting for replay.", value=dead or 0)
        last_ok = GaugeMetricFamily(
            "helpdesk_scheduler_job_last_success_timestamp_seconds",
            "When each scheduled job last succeeded (alert when it falls behind its interval).",
            labels=["job"],
        )
        for name, at in jobs:
            last_ok.add_metric([name], float(at))
        yield last_ok

    def _queues(self) -> Iterator[Metric]:
        depth = GaugeMetricFamily("helpdesk_queue_depth", "Messages waiting in a queue.", labels=["queue"])
        lag = GaugeMetricFamily(
            "helpdesk_queue_lag_seconds", "Age of the oldest message waiting in a queue.", labels=["queue"]
        )
        failures = CounterMetricFamily("helpdesk_actor_failures", "Failed actor runs.", labels=["actor"])
        try:
            client = redis.Redis.from_url(
                get_settings().redis_url, socket_timeout=1, socket_connect_timeout=1
            )
            now = time.time()
            for queue in QUEUES:
                key = f"{get_settings().redis_namespace}:{queue}"
                depth.add_metric([queue], client.llen(key) + client.llen(f"{key}.DQ"))
                oldest = client.lindex(key, 0)
                age = 0.0
                if oldest is not None:
                    raw = client.hget(f"{key}.msgs", oldest)
                    if raw is not None:
                        age = max(0.0, now - json.loads(raw)["message_timestamp"] / 1000)
                lag.add_metric([queue], age)
            for actor, count in client.hgetall(_failures_key()).items():
                name = actor.decode() if isinstance(actor, bytes) else str(actor)
                failures.add_metric([name], int(count))
            client.close()
        except redis.RedisError:
            log.warning("metrics: redis unavailable")
            return
        yield depth
        yield lag
        yield failures


_registered = False


def register() -> None:
    global _registered
    if not _registered:
        REGISTRY.register(BackboneCollector())
        _registered = True
