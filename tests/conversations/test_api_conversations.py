"""The partner API for conversations, their messages and survey answers
(contracts/partner-api.md, docs/api.md)."""

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from conversations.models import Conversation, Survey
from conversations.services.care import survey_event_data
from tests.factories import (
    AgentFactory,
    ConversationFactory,
    CustomerFactory,
    MessageFactory,
    SkillGroupFactory,
)

pytestmark = pytest.mark.django_db

CONVERSATIONS = "/api/v1/conversations/"
SURVEYS = "/api/v1/surveys/responses/"


@pytest.fixture
def api(partner_client):
    return partner_client("conversations")


def ids(response) -> list[str]:
    return [row["id"] for row in response.json()["results"]]


def answered_survey(conversation, score, *, at=None) -> Survey:
    return Survey.objects.create(
        conversation=conversation,
        customer=conversation.customer,
        delivered_in=conversation,
        question="How did we do?",
        score=score,
        comment="ok",
        answered_at=at or timezone.now(),
    )


# --- conversations -------------------------------------------------------------------------------


def test_a_conversation_as_partners_see_it(api):
    group = SkillGroupFactory(code="aftersales")
    agent = AgentFactory(display_name="李娜")
    conversation = ConversationFactory(
        customer=CustomerFactory(external_id="u-1001"),
        channel="wechat",
        status="assigned",
        assignee=agent,
        skill_group=group,
        tags=["headphones"],
        last_seq=3,
    )

    response = api.get(f"{CONVERSATIONS}{conversation.pk}/")

    assert response.status_code == 200
    body = response.json()
    assert body["id"] == str(conversation.pk)
    assert (body["customer"], body["channel"], body["status"]) == ("u-1001", "wechat", "assigned")
    assert body["assignee"] == {"id": agent.pk, "name": "李娜"}
    assert (body["skill_group"], body["priority"], body["tags"]) == (
        "aftersales",
        "normal",
        ["headphones"],
    )
    assert body["last_seq"] == 3
    assert body["created_at"].endswith("Z")


@pytest.mark.parametrize("conversation_id", [str(uuid.uuid4()), "nope", "1234"])
def test_an_unknown_or_malformed_conversation_is_404(api, conversation_id):
    ConversationFactory()

    assert api.get(f"{CONVERSATIONS}{conversation_id}/").status_code == 404
    assert api.get(f"{CONVERSATIONS}{conversation_id}/messages/").status_code == 404


def test_the_list_is_newest_first_and_filters(api):
    customer = CustomerFactory(external_id="u-1001")
    web = ConversationFactory(customer=customer, status="closed")
    wechat = ConversationFactory(customer=customer, channel="wechat", status="bot")
    other = ConversationFactory(channel="app", status="queued")
    Conversation.objects.filter(pk=web.pk).update(updated_at=timezone.now() - timedelta(days=9))

    def listed(**params):
        return ids(api.get(CONVERSATIONS, params))

    assert listed() == [str(other.pk), str(wechat.pk), str(web.pk)]
    assert listed(status=["bot", "queued"]) == [str(other.pk), str(wechat.pk)]
    assert listed(channel="wechat") == [str(wechat.pk)]
    assert listed(customer="u-1001") == [str(wechat.pk), str(web.pk)]
    since = (timezone.now() - timedelta(days=1)).isoformat()
    assert listed(updated_after=since) == [str(other.pk), str(wechat.pk)]


@pytest.mark.parametrize(
    "params", [{"status": "lost"}, {"channel": "fax"}, {"updated_after": "yesterday"}]
)
def test_a_bad_filter_is_400_naming_it(api, params):
    response = api.get(CONVERSATIONS, params)

    assert response.status_code == 400
    assert set(response.json()) == set(params)


def test_cursor_pages_never_repeat_or_skip_even_with_equal_times(api):
    made = [ConversationFactory() for _ in range(7)]
    same = timezone.now() - timedelta(hours=1)
    Conversation.objects.filter(pk__in=[c.pk for c in made[2:6]]).update(created_at=same)
    seen, url, params = [], CONVERSATIONS, {"page_size": 2}

    while url:
        page = api.get(url, params).json()
        seen += [row["id"] for row in page["results"]]
        url, params = page["next"], None

    assert sorted(seen) == sorted(str(c.pk) for c in made)
    assert len(seen) == len(made)


def test_a_forged_cursor_is_404(api):
    assert api.get(CONVERSATIONS, {"cursor": "cD0lMjclM0I="}).status_code == 404


def test_a_page_of_conversations_takes_the_same_queries_whatever_its_size(
    api, django_assert_num_queries
):
    for _ in range(5):
        ConversationFactory(assignee=AgentFactory(), skill_group=SkillGroupFactory())

    # The key, its last use, the page with its joins.
    with django_assert_num_queries(3):
        assert len(api.get(CONVERSATIONS).json()["results"]) == 5


# --- messages -------------------------------------------------------------------------------------


def test_messages_come_by_seq_after_the_seq_given(api):
    conversation = ConversationFactory()
    for seq in (1, 2, 3, 4):
        MessageFactory(conversation=conversation, seq=seq, body=f"m{seq}")
    MessageFactory(seq=9)  # another conversation's

    everything = api.get(f"{CONVERSATIONS}{conversation.pk}/messages/").json()["results"]
    after = api.get(f"{CONVERSATIONS}{conversation.pk}/messages/", {"after_seq": 2}).json()

    assert [m["seq"] for m in everything] == [1, 2, 3, 4]
    assert [m["body"] for m in after["results"]] == ["m3", "m4"]
    assert everything[0]["conversation"] == str(conversation.pk)
    assert set(everything[0]) >= {"id", "sender", "sender_name", "attachments", "created_at"}


def test_messages_page_by_seq(api):
    conversation = ConversationFactory()
    for seq in range(1, 8):
        MessageFactory(conversation=conversation, seq=seq)
    seen, url, params = [], f"{CONVERSATIONS}{conversation.pk}/messages/", {"page_size": 3}

    while url:
        page = api.get(url, params).json()
        seen += [m["seq"] for m in page["results"]]
        url, params = page["next"], None

    assert seen == [1, 2, 3, 4, 5, 6, 7]


@pytest.mark.parametrize("after_seq", ["-1", "x", "99999999999"])
def test_a_bad_after_seq_is_400(api, after_seq):
    conversation = ConversationFactory()

    response = api.get(f"{CONVERSATIONS}{conversation.pk}/messages/", {"after_seq": after_seq})

    assert response.status_code == 400
    assert "after_seq" in response.json()


# --- survey answers ---------------------------------------------------------------------------------


def test_survey_answers_latest_first_only_answered_and_as_the_webhook_carried_them(api):
    customer = CustomerFactory(external_id="u-1001")
    conversation = ConversationFactory(customer=customer, status="closed")
    older = answered_survey(conversation, 4, at=timezone.now() - timedelta(days=2))
    newer = answered_survey(ConversationFactory(status="closed"), 2)
    Survey.objects.create(
        conversation=conversation,
        customer=customer,
        delivered_in=conversation,
        question="unanswered",
    )

    rows = api.get(SURVEYS).json()["results"]

    assert [row["id"] for row in rows] == [str(newer.pk), str(older.pk)]
    assert rows[1] == {**survey_event_data(older)}
    assert (rows[1]["customer"], rows[1]["score"]) == ("u-1001", 4)


def test_survey_answers_filter(api):
    customer = CustomerFactory(external_id="u-1001")
    mine = answered_survey(ConversationFactory(customer=customer), 5)
    low = answered_survey(ConversationFactory(), 1)
    old = answered_survey(ConversationFactory(), 3, at=timezone.now() - timedelta(days=9))

    def listed(**params):
        return ids(api.get(SURVEYS, params))

    assert listed(customer="u-1001") == [str(mine.pk)]
    assert listed(score=["1", "3"]) == [str(low.pk), str(old.pk)]
    assert listed(conversation=str(low.conversation_id)) == [str(low.pk)]
    since = (timezone.now() - timedelta(days=1)).isoformat()
    assert set(listed(answered_after=since)) == {str(mine.pk), str(low.pk)}
    assert api.get(SURVEYS, {"score": "6"}).status_code == 400


# --- scope ---------------------------------------------------------------------------------------


def test_without_the_conversations_scope_it_is_403(partner_client):
    other = partner_client("tickets")
    conversation = ConversationFactory()

    assert other.get(CONVERSATIONS).status_code == 403
    assert other.get(f"{CONVERSATIONS}{conversation.pk}/messages/").status_code == 403
    assert other.get(SURVEYS).status_code == 403
