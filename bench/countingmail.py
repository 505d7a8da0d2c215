"""A mail backend for benchmarks: it counts what it is given, per outreach, and sends
nothing. Memory stays flat: one byte per outreach id (the X-Lumen-Outreach header)."""

from __future__ import annotations

import time

from django.core.mail.backends.base import BaseEmailBackend

# counts[outreach id] = how many emails this process was handed for it (capped at 255).
counts = bytearray()
stats = {"connections": 0, "messages": 0, "serialized": 0, "serialize_seconds": 0.0}
# Serialize one message in this many into MIME bytes, as an SMTP backend would all, to
# measure what that costs without paying it for a million.
SERIALIZE_EVERY = 1000


class EmailBackend(BaseEmailBackend):
    def open(self) -> bool:
        stats["connections"] += 1
        return True

    def send_messages(self, email_messages) -> int:
        global counts
        for message in email_messages:
            outreach_id = int(message.extra_headers["X-Lumen-Outreach"])
            if outreach_id >= len(counts):
                counts.extend(bytes(max(outreach_id + 1 - len(counts), 65536)))
            if counts[outreach_id] < 255:
                counts[outreach_id] += 1
            stats["messages"] += 1
            if stats["messages"] % SERIALIZE_EVERY == 0:
                started = time.perf_counter()
                message.message().as_bytes()
                stats["serialize_seconds"] += time.perf_counter() - started
                stats["serialized"] += 1
        return len(email_messages)
