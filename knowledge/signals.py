"""Cache invalidation: a write to anything the bot reads gives the knowledge base a new revision.

Signals rather than calls in each service, so that the admin's own saves and
deletes (intents, categories, a deleted article) count as well.
"""

from __future__ import annotations

from django.db.models.signals import post_delete, post_save

from knowledge.models import Article, Category, Intent, QuestionVariant
from knowledge.services.revision import bump_revision


def _bump(sender, **kwargs) -> None:
    bump_revision()


def connect() -> None:
    for model in (Article, QuestionVariant, Category, Intent):
        for signal in (post_save, post_delete):
            signal.connect(_bump, sender=model, dispatch_uid=f"knowledge-revision-{model.__name__}")
