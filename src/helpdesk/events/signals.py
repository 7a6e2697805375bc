"""Graceful stop for the long-running processes (publisher, scheduler)."""

from __future__ import annotations

import signal
import threading
from types import FrameType


def stop_on_signals(stop: threading.Event) -> None:
    """SIGTERM and SIGINT set `stop`. Only the main thread may install handlers; elsewhere
    (tests running the loop in a thread) the caller sets `stop` itself."""
    if threading.current_thread() is not threading.main_thread():
        return

    def _stop(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
