"""Every write to the knowledge base goes through these functions."""

from knowledge.services.articles import (
    archive_article,
    publish_article,
    record_edit,
    record_feedback,
    record_view,
    restore_version,
    save_article,
    unpublish_article,
)
from knowledge.services.importing import ImportError_, ImportResult, import_intents, import_kb
from knowledge.services.learning import adopt_questions, draft_articles_from_replies
from knowledge.services.revision import bump_revision

__all__ = [
    "adopt_questions",
    "draft_articles_from_replies",
    "ImportError_",
    "ImportResult",
    "archive_article",
    "bump_revision",
    "import_intents",
    "import_kb",
    "publish_article",
    "record_edit",
    "record_feedback",
    "record_view",
    "restore_version",
    "save_article",
    "unpublish_article",
]
