"""Garbage-collector settings of a server process, and a log of its long pauses.

CPython 3.11 collects cyclic garbage in three generations and stops the
process for a full (generation 2) collection, which walks every tracked
object. With thousands of sockets in one daphne process such a pause took
100–550 ms here, and was the chat's p99 latency (docs/benchmarks.md).

- `gc.freeze()` once the application is loaded moves everything imported at
  start-up (Django, the URL resolvers, jieba's dictionary, the bot's index)
  out of the collector's sight: it lives as long as the process anyway.
- A larger first threshold (`GC_THRESHOLD`, default 50,000 allocations
  instead of 700) lets the objects of a request or a message die young: at
  700, anything alive during a few milliseconds of database I/O survived two
  young collections and was promoted to the old generation, whose growth is
  what triggers the full collections.
- A collection that takes longer than `GC_PAUSE_LOG_MS` (default 50) is
  logged, so a pause that hurts latency shows in the server's log.
"""

from __future__ import annotations

import gc
import logging
import os
import time

logger = logging.getLogger(__name__)

DEFAULT_THRESHOLD = (50_000, 20, 10)


def _threshold() -> tuple[int, int, int]:
    value = os.environ.get("GC_THRESHOLD", "")
    if not value:
        return DEFAULT_THRESHOLD
    parts = [int(part) for part in value.split(",")]
    if len(parts) != 3 or any(part < 1 for part in parts):
        raise ValueError("GC_THRESHOLD must be three positive integers, e.g. 50000,20,10")
    return parts[0], parts[1], parts[2]


class PauseLog:
    """Times every collection and logs the ones that stop the process for long."""

    def __init__(self, limit_ms: float):
        self.limit_ms = limit_ms
        self.started = 0.0

    def __call__(self, phase: str, info: dict) -> None:
        if phase == "start":
            self.started = time.perf_counter()
            return
        pause_ms = (time.perf_counter() - self.started) * 1000
        if pause_ms >= self.limit_ms:
            logger.warning(
                "garbage collection of generation %d paused the process for %.0f ms",
                info.get("generation", -1),
                pause_ms,
            )


def tune_collector() -> None:
    """Apply the settings above to this process (a server, once the app is loaded)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*_threshold())
    limit = float(os.environ.get("GC_PAUSE_LOG_MS", "50"))
    if limit > 0 and not any(isinstance(cb, PauseLog) for cb in gc.callbacks):
        gc.callbacks.append(PauseLog(limit))
