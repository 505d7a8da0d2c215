"""Ask the bot, import from admin with progress, learning from unanswered questions, export."""

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.urls import reverse

from conversations.services import close_conversation, post_agent_message, take_conversation
from knowledge.demo import DEMO_DIR
from knowledge.models import Article, QuestionVariant, UnansweredQuestion
from tests.factories import AgentFactory, ConversationFactory

pytestmark = pytest.mark.django_db


def test_ask_the_bot_shows_the_answer_and_the_scores(admin_client, demo_kb):
    body = admin_client.get(
        reverse("admin:knowledge_article_ask"), {"q": "退货政策是怎样的", "language": "zh"}
    )

    text = body.content.decode()
    assert "returns-policy" in text
    assert "answer" in text


def test_an_admin_import_runs_in_the_background_and_reports_progress(
    admin_client, settings, django_capture_on_commit_callbacks
):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    upload = SimpleUploadedFile("kb.jsonl", (DEMO_DIR / "kb.jsonl").read_bytes())

    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            reverse("admin:knowledge_article_import"), {"kind": "kb", "file": upload}
        )
    state = admin_client.get(response["Location"], HTTP_ACCEPT="application/json").json()

    assert state["status"] == "done"
    assert (state["done"], state["total"]) == (80, 80)
    assert Article.objects.count() == 80


def test_an_admin_import_of_a_bad_file_fails_with_the_line_and_imports_nothing(
    admin_client, settings, django_capture_on_commit_callbacks
):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    upload = SimpleUploadedFile("kb.jsonl", b'{"slug": "a"}\n')

    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            reverse("admin:knowledge_article_import"), {"kind": "kb", "file": upload}
        )
    state = admin_client.get(response["Location"], HTTP_ACCEPT="application/json").json()

    assert state["status"] == "failed"
    assert state["errors"][0].startswith("line 1")
    assert not Article.objects.exists()


def test_an_unanswered_question_becomes_a_question_variant(admin_client, demo_kb):
    question = UnansweredQuestion.objects.create(
        text="包裹被邻居代收了怎么办",
        language="zh",
        outcome="fallback",
        conversation_id="00000000-0000-0000-0000-000000000001",
        group_key="代收 包裹",
        closest_article="parcel-not-received",
    )

    admin_client.post(
        reverse("admin:knowledge_unansweredquestion_changelist"),
        {"action": "add_as_question", "_selected_action": [question.pk]},
    )

    assert QuestionVariant.objects.filter(
        text="包裹被邻居代收了怎么办", article__slug="parcel-not-received"
    ).exists()
    question.refresh_from_db()
    assert question.handled


def test_an_agents_resolving_reply_is_offered_and_can_become_a_draft(admin_client, demo_kb):
    conversation = ConversationFactory()
    agent = AgentFactory()
    UnansweredQuestion.objects.create(
        text="可以开增值税专用发票吗",
        language="zh",
        outcome="handoff",
        conversation_id=conversation.id,
        group_key="专用 发票",
    )
    take_conversation(conversation_id=conversation.id, agent=agent)
    post_agent_message(
        conversation=conversation,
        agent=agent,
        client_id="r",
        body="可以，请在订单详情里申请专票并填写税号。",
    )
    close_conversation(conversation_id=conversation.id, agent=agent)
    question = UnansweredQuestion.objects.get()

    admin_client.post(
        reverse("admin:knowledge_unansweredquestion_changelist"),
        {"action": "draft_article", "_selected_action": [question.pk]},
    )

    assert question.__class__.objects.get().agent_reply.startswith("可以")
    draft = Article.objects.get(status="draft")
    assert draft.body.startswith("可以，请在订单详情")


def test_export_reimports_to_the_same_knowledge_base(tmp_path, demo_kb):
    path = tmp_path / "export.jsonl"

    call_command("export_kb", str(path))
    call_command("import_kb", str(path))

    lines = path.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 80
    assert json.loads(lines[0])["questions"]
    assert Article.objects.count() == 80
    assert not Article.objects.filter(version__gt=1).exists()
