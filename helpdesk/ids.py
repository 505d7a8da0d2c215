"""Time-ordered UUIDs (RFC 9562 version 7) for rows written in bulk.

A random (version 4) primary key puts each new row's index entry on a random
page of the index; a version 7 id begins with the time in milliseconds, so new
rows go to the index's right edge, as with a sequence, and the ids still
cannot be guessed. `UUID7_SQL` is the same id made by PostgreSQL (15 has no
uuidv7()), for rows an `INSERT … SELECT` writes.
"""

from __future__ import annotations

import os
import time
import uuid

# 48 bits of Unix time in ms, version 7, then 74 random bits with the RFC variant: the
# random tail of gen_random_uuid() (its variant bits are already the RFC's).
UUID7_SQL = (
    "(lpad(to_hex(floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint), 12, '0')"
    " || '7' || substr(replace(gen_random_uuid()::text, '-', ''), 14))::uuid"
)


def uuid7() -> uuid.UUID:
    ms = time.time_ns() // 1_000_000
    tail = int.from_bytes(os.urandom(10), "big")
    value = (ms & ((1 << 48) - 1)) << 80
    value |= 0x7 << 76
    value |= ((tail >> 64) & 0xFFF) << 64  # rand_a: 12 bits
    value |= 0b10 << 62  # the RFC variant
    value |= tail & ((1 << 62) - 1)  # rand_b: 62 bits
    return uuid.UUID(int=value)
