"""The knowledge base's revision token (knowledge.models.Revision)."""

from __future__ import annotations

import uuid

from knowledge.models import Revision


def bump_revision() -> None:
    """Give the knowledge base a new revision token, in the caller's transaction.

    One statement (an upsert of the single row), so it is cheap enough to run
    on every write; the row lock it takes is held until the caller commits.
    """
    Revision.objects.bulk_create(
        [Revision(pk=1, token=uuid.uuid4())],
        update_conflicts=True,
        unique_fields=["id"],
        update_fields=["token"],
    )
