"""bot_eval on the demo shop's labelled questions: the quality floors, through the live chat's code."""

import json

import pytest
from django.core.management import CommandError, call_command

from conversations.models import Conversation, Message
from knowledge.demo import DEMO_DIR

pytestmark = pytest.mark.django_db

FLOORS = {"article": 0.90, "intent": 0.95, "handoff": 0.95, "none": 0.85}


def test_the_bot_meets_its_quality_floors_and_leaves_nothing_behind(demo_kb, capsys):
    call_command("bot_eval", str(DEMO_DIR / "dev.jsonl"), "--json")

    result = json.loads(capsys.readouterr().out)
    assert result["n"] == 120
    for kind, floor in FLOORS.items():
        assert result[kind] >= floor, (kind, result)
    assert not Conversation.objects.exists()
    assert not Message.objects.exists()


def test_a_bad_file_is_a_clear_error(tmp_path):
    path = tmp_path / "questions.jsonl"
    path.write_text('{"text": "hi"}\n')

    with pytest.raises(CommandError, match="expect.kind"):
        call_command("bot_eval", str(path))
