"""Background imports started from the admin, with their progress kept in the cache."""

from __future__ import annotations

import uuid

from django.core.cache import cache
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction

STATE_TTL = 24 * 3600


def _key(job_id) -> str:
    return f"kb-import:{job_id}"


def import_state(job_id) -> dict | None:
    return cache.get(_key(job_id))


def set_state(job_id, **changes) -> dict:
    state = {**(import_state(job_id) or {}), **changes}
    cache.set(_key(job_id), state, STATE_TTL)
    return state


def start_import(*, kind: str, content: bytes, user_id: int | None) -> uuid.UUID:
    """Keep the upload, record a queued job and hand it to a Celery worker after commit."""
    from knowledge.tasks import import_file_task

    job_id = uuid.uuid4()
    path = default_storage.save(
        f"imports/{job_id.hex}.{'jsonl' if kind == 'kb' else 'json'}", ContentFile(content)
    )
    set_state(job_id, status="queued", kind=kind, done=0, total=0, errors=[], result="", path=path)
    transaction.on_commit(lambda: import_file_task.delay(str(job_id), user_id))
    return job_id
