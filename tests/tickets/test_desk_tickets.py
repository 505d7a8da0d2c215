"""The desk's ticket pages: the list and its filters, a ticket, replies, changes, and a
ticket made from a chat; only for those who may see them."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from conversations.models import Conversation, Message
from conversations.services.messages import post_customer_message
from tests.factories import AgentFactory, ConversationFactory, CustomerFactory, SkillGroupFactory
from tickets.models import Priority, Ticket, TicketClock, TicketComment
from tickets.selectors import forget_view_counts
from tickets.services import open_ticket

pytestmark = pytest.mark.django_db

XSS = '<script>alert("x")</script>'


@pytest.fixture
def desk(client, agent):
    client.force_login(agent.user)
    return client


def ticket(group=None, **fields):
    defaults = {
        "customer": CustomerFactory(),
        "subject": "耳机坏了",
        "type_code": "repair",
        "source": "agent",
        "skill_group": group,
    }
    return open_ticket(**(defaults | fields))


def test_the_list_shows_my_groups_tickets_and_not_another_groups(desk, group):
    mine = ticket(group)
    theirs = ticket(SkillGroupFactory(code="presales"))

    body = desk.get(reverse("tickets:list")).content.decode()

    assert f'data-ticket="{mine.number}"' in body
    assert f'data-ticket="{theirs.number}"' not in body


def test_the_list_filters_by_priority_status_and_number(desk, group):
    urgent = ticket(group, priority=Priority.URGENT)
    low = ticket(group, priority=Priority.LOW)
    url = reverse("tickets:list")

    by_priority = desk.get(url, {"priority": Priority.URGENT}).content.decode()
    assert urgent.number in by_priority and low.number not in by_priority

    by_number = desk.get(url, {"q": low.number}).content.decode()
    assert low.number in by_number and urgent.number not in by_number

    closed = desk.get(url, {"status": "closed"}).content.decode()
    assert urgent.number not in closed and low.number not in closed


def test_unknown_filter_values_are_ignored_not_an_error(desk, group):
    ticket(group)
    response = desk.get(reverse("tickets:list"), {"priority": "x", "sla": "<b>", "page": "999"})
    assert response.status_code == 200


def test_the_list_takes_as_many_queries_for_thirty_tickets_as_for_one(desk, agent, group):
    ticket(group)
    with CaptureQueriesContext(connection) as one:
        desk.get(reverse("tickets:list"))
    for _ in range(29):
        ticket(group, customer=CustomerFactory())
    forget_view_counts(agent)  # the tabs' counts are cached: both requests count them
    with CaptureQueriesContext(connection) as thirty:
        body = desk.get(reverse("tickets:list")).content.decode()
    assert body.count("data-ticket=") == 30
    assert len(thirty) == len(one)


def test_another_groups_ticket_is_a_404_for_every_page(desk):
    theirs = ticket(SkillGroupFactory(code="presales"))
    assert desk.get(reverse("tickets:detail", args=[theirs.pk])).status_code == 404
    for name in ("comment", "change"):
        response = desk.post(reverse(f"tickets:{name}", args=[theirs.pk]), {"body": "hi"})
        assert response.status_code == 404
    assert not TicketComment.objects.exists()


def test_a_visitor_who_is_not_logged_in_is_sent_to_the_login(client, group):
    opened = ticket(group)
    response = client.get(reverse("tickets:detail", args=[opened.pk]))
    assert response.status_code == 302 and "/desk/login/" in response["Location"]


def test_the_ticket_page_shows_clocks_and_a_hostile_subject_inert(desk, group):
    opened = ticket(group, subject=XSS)
    body = desk.get(reverse("tickets:detail", args=[opened.pk])).content.decode()
    assert 'id="first-response-due"' in body and 'id="resolution-due"' in body
    assert XSS not in body and "&lt;script&gt;" in body


def test_a_public_reply_reaches_the_chat_and_an_internal_note_does_not(desk, group):
    conversation = ConversationFactory()
    opened = ticket(group, customer=conversation.customer, conversation=conversation)
    url = reverse("tickets:comment", args=[opened.pk])

    desk.post(url, {"body": "新耳机已寄出", "visibility": "public"})
    desk.post(url, {"body": "仓库已确认", "visibility": "internal"})

    bodies = list(Message.objects.filter(conversation=conversation).values_list("body", flat=True))
    assert any("新耳机已寄出" in body for body in bodies)
    assert not any("仓库已确认" in body for body in bodies)
    page = desk.get(reverse("tickets:detail", args=[opened.pk])).content.decode()
    assert "新耳机已寄出" in page and "仓库已确认" in page


def test_an_empty_reply_is_refused_with_a_message(desk, group):
    opened = ticket(group)
    response = desk.post(reverse("tickets:comment", args=[opened.pk]), {"body": "  "}, follow=True)
    assert "不能为空" in response.content.decode()
    assert not TicketComment.objects.exists()


def test_changes_are_saved_with_the_timeline(desk, group, agent):
    opened = ticket(group)
    desk.post(
        reverse("tickets:change", args=[opened.pk]),
        {"status": "pending_internal", "priority": "40", "assignee": str(agent.pk), "group": ""},
    )
    opened.refresh_from_db()
    assert (opened.status, opened.priority, opened.assignee) == ("pending_internal", 40, agent)
    assert opened.skill_group is None
    page = desk.get(reverse("tickets:detail", args=[opened.pk])).content.decode()
    assert "新建 → 等待内部" in page  # old → new in the timeline, as people read them


@pytest.mark.parametrize(
    "form",
    [{"priority": "99"}, {"status": "lost"}, {"assignee": "123456"}, {"group": "nope"}],
)
def test_bad_changes_are_refused_and_change_nothing(desk, group, form):
    opened = ticket(group)
    response = desk.post(reverse("tickets:change", args=[opened.pk]), form, follow=True)
    assert response.status_code == 200
    assert response.redirect_chain[-1][1] == 303
    refreshed = Ticket.objects.get(pk=opened.pk)
    assert (refreshed.priority, refreshed.status, refreshed.assignee_id, refreshed.skill_group) == (
        opened.priority,
        opened.status,
        opened.assignee_id,
        group,
    )


def test_create_ticket_from_a_chat_attaches_the_transcript(desk, agent, group):
    conversation = ConversationFactory(
        status=Conversation.Status.ASSIGNED, assignee=agent, skill_group=group
    )
    post_customer_message(conversation_id=conversation.id, client_id="c1", body="屏幕碎了")

    response = desk.post(reverse("tickets:from-conversation", args=[conversation.id]))

    opened = Ticket.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("tickets:detail", args=[opened.pk])
    assert opened.subject == "屏幕碎了" and "屏幕碎了" in opened.description
    assert opened.source == "agent" and opened.created_by == agent.user
    assert list(opened.conversations.all()) == [conversation]


def test_create_ticket_from_someone_elses_chat_is_a_404(desk):
    conversation = ConversationFactory(
        status=Conversation.Status.ASSIGNED,
        assignee=AgentFactory(),
        skill_group=SkillGroupFactory(code="vip"),
    )
    response = desk.post(reverse("tickets:from-conversation", args=[conversation.id]))
    assert response.status_code == 404
    assert not Ticket.objects.exists()


def test_a_ticket_number_beyond_any_id_is_a_404_not_an_error(desk):
    huge = 10**30
    assert desk.get(reverse("tickets:detail", args=[huge])).status_code == 404
    assert desk.post(reverse("tickets:comment", args=[huge]), {"body": "x"}).status_code == 404
    assert desk.get(reverse("tickets:list"), {"q": f"T-{huge}"}).status_code == 200


def test_a_breach_shows_in_the_timeline_by_the_clocks_name(desk, group):
    from datetime import timedelta

    from django.utils import timezone

    from tickets.services import record_breaches

    opened = ticket(group)
    TicketClock.objects.filter(ticket=opened, clock="first_response").update(
        due=timezone.now() - timedelta(1)
    )
    record_breaches()

    page = desk.get(reverse("tickets:detail", args=[opened.pk])).content.decode()

    assert "SLA 首次响应 已超时" in page
