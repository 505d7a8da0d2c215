"""Learning from what the bot could not answer: new question variants and article drafts."""

from __future__ import annotations

from django.db import transaction
from django.utils.text import slugify

from knowledge.models import Article, QuestionVariant, UnansweredQuestion
from knowledge.services.articles import record_edit, save_article


@transaction.atomic
def adopt_questions(questions: list[UnansweredQuestion], *, user=None) -> int:
    """Add each question as a variant of its closest article (same language); mark it handled."""
    added = 0
    for question in questions:
        article = Article.objects.filter(
            slug=question.closest_article, language=question.language
        ).first()
        if article is None:
            continue
        _, created = QuestionVariant.objects.get_or_create(
            article=article,
            text=question.text[:300],
            defaults={"position": article.questions.count()},
        )
        if created:
            record_edit(article, user=user, note="question added from the unanswered list")
            added += 1
        UnansweredQuestion.objects.filter(pk=question.pk).update(handled=True)
    return added


@transaction.atomic
def draft_articles_from_replies(questions: list[UnansweredQuestion], *, user=None) -> int:
    """An agent's reply that resolved a question becomes a draft article to edit and publish."""
    from knowledge.models import Category

    drafts = 0
    category = Category.objects.order_by("position").first()
    for question in questions:
        if not question.agent_reply or category is None:
            continue
        slug = (slugify(question.text, allow_unicode=False) or "faq")[:60] + f"-{question.pk}"
        save_article(
            slug=slug,
            language=question.language,
            category=category,
            title=question.text[:200],
            body=question.agent_reply,
            questions=[question.text],
            status=Article.Status.DRAFT,
            user=user,
            note="drafted from an agent's reply",
        )
        UnansweredQuestion.objects.filter(pk=question.pk).update(handled=True)
        drafts += 1
    return drafts
