"""Collaboration requests: an agent asks another team about a ticket; the team accepts,
answers or declines, the sender may withdraw; everyone concerned is told once, and an
unanswered request past its due time is flagged once, however many runs there are."""

import threading
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone, translation

from conversations.models import Agent, Notice, SkillGroup
from tests.factories import (
    AgentFactory,
    ConversationFactory,
    CustomerFactory,
    SkillGroupFactory,
    UserFactory,
)
from tickets.models import (
    BusinessCalendar,
    CollaborationRequest,
    OpeningHours,
    SLAPolicy,
    Ticket,
    TicketEvent,
)
from tickets.selectors import visible_tickets
from tickets.services import add_comment, change_ticket, open_ticket
from tickets.services.collaboration import (
    MAX_NOTE,
    CollaborationError,
    CollaborationNotAllowed,
    accept,
    answer,
    decline,
    record_overdue_requests,
    request_collaboration,
    withdraw,
)
from tickets.tasks import collaboration_overdue_task

pytestmark = pytest.mark.django_db

SHANGHAI = ZoneInfo("Asia/Shanghai")
FRIDAY_17 = datetime(2026, 12, 4, 17, 0, tzinfo=SHANGHAI)
XSS = '<img src=x onerror="alert(1)"><script>alert("x")</script>'


@pytest.fixture
def aftersales():
    return SkillGroupFactory(code="aftersales", name_zh="售后服务", name_en="After-sales")


@pytest.fixture
def tech():
    return SkillGroupFactory(code="tech", name_zh="技术支持", name_en="Technical support")


def member(group, **fields) -> Agent:
    agent = AgentFactory(**fields)
    agent.skill_groups.add(group)
    return agent


@pytest.fixture
def sender(aftersales):
    return member(aftersales, display_name="李娜")


@pytest.fixture
def engineer(tech):
    return member(tech, display_name="王工")


@pytest.fixture
def colleague(tech):
    return member(tech, display_name="赵工")


@pytest.fixture
def outsider():
    return member(SkillGroupFactory(code="presales"), display_name="外人")


@pytest.fixture
def supervisor():
    return AgentFactory(user=UserFactory(is_superuser=True), display_name="陈主管")


@pytest.fixture
def ticket(aftersales):
    conversation = ConversationFactory()
    opened = open_ticket(
        customer=conversation.customer,
        subject="耳机充不进电",
        type_code="repair",
        source="agent",
        skill_group=aftersales,
        conversation=conversation,
    )
    add_comment(ticket_id=opened.pk, body="换了充电线也不行", from_customer=True)
    return opened


@pytest.fixture
def asked(ticket, sender, tech, engineer, colleague):
    return request_collaboration(
        ticket_id=ticket.pk, agent=sender, group=tech, note="固件 1.2 有已知问题吗？"
    )


@pytest.fixture
def office_hours():
    """The default policy counts Monday–Friday 09:00–18:00 in Shanghai."""
    calendar = BusinessCalendar.objects.create(name="Shanghai office", timezone="Asia/Shanghai")
    OpeningHours.objects.bulk_create(
        OpeningHours(calendar=calendar, weekday=day, opens=time(9), closes=time(18))
        for day in range(5)
    )
    SLAPolicy.objects.filter(is_default=True).update(calendar=calendar)


def notices(agent, step=None):
    rows = Notice.objects.filter(agent=agent, kind="collaboration")
    return list(rows.filter(key__endswith=f":{step}") if step else rows)


def collab_events(ticket):
    return list(
        TicketEvent.objects.filter(ticket=ticket, kind="collab").values_list(
            "field", "actor__username"
        )
    )


# --- the steps ------------------------------------------------------------------------


def test_a_request_carries_the_ticket_summary_and_tells_the_team_but_not_the_sender(
    ticket, sender, tech, engineer, colleague
):
    asked = request_collaboration(
        ticket_id=ticket.pk, agent=sender, group=tech, note="固件 1.2 有已知问题吗？"
    )

    assert asked.status == CollaborationRequest.Status.OPEN
    assert asked.from_agent == sender and asked.owner is None
    assert asked.context == {
        "subject": "耳机充不进电",
        "customer": ticket.customer.display_name,
        "level": ticket.customer.level,
        "priority": ticket.priority,
        "customer_said": "换了充电线也不行",
        "conversation": str(ticket.conversations.get().pk),
    }
    assert collab_events(ticket) == [("requested", sender.user.username)]
    assert len(notices(engineer, "requested")) == len(notices(colleague, "requested")) == 1
    assert notices(sender) == []
    with translation.override("en"):
        assert "李娜 asks Technical support about" in notices(engineer)[0].text_en
    assert notices(engineer)[0].url == reverse("tickets:detail", args=[ticket.pk])


def test_accepting_makes_the_agent_its_owner_and_tells_the_sender(asked, sender, engineer):
    accept(request_id=asked.pk, agent=engineer)

    asked.refresh_from_db()
    assert (asked.status, asked.owner) == ("accepted", engineer)
    assert asked.accepted_at is not None
    assert collab_events(asked.ticket)[-1] == ("accepted", engineer.user.username)
    assert len(notices(sender, "accepted")) == 1


def test_the_answer_is_in_the_ticket_timeline_and_the_sender_is_told(asked, sender, engineer):
    accept(request_id=asked.pk, agent=engineer)

    answer(request_id=asked.pk, agent=engineer, text="是的，升级到 1.3 即可")

    asked.refresh_from_db()
    assert (asked.status, asked.answer) == ("answered", "是的，升级到 1.3 即可")
    assert asked.answered_at is not None
    row = TicketEvent.objects.get(ticket=asked.ticket, kind="collab", field="answered")
    assert (row.actor, row.new) == (engineer.user, "是的，升级到 1.3 即可")
    assert len(notices(sender, "answered")) == 1
    assert "升级到 1.3" in notices(sender, "answered")[0].text_zh


def test_answering_an_open_request_makes_the_one_answering_its_owner(asked, colleague):
    answer(request_id=asked.pk, agent=colleague, text="已知问题")

    asked.refresh_from_db()
    assert (asked.status, asked.owner) == ("answered", colleague)


def test_declining_says_why_and_tells_the_sender(asked, sender, engineer):
    decline(request_id=asked.pk, agent=engineer, reason="这是售后的问题")

    asked.refresh_from_db()
    assert (asked.status, asked.answer) == ("declined", "这是售后的问题")
    assert collab_events(asked.ticket)[-1] == ("declined", engineer.user.username)
    assert len(notices(sender, "declined")) == 1


def test_the_sender_withdraws_and_the_owner_is_told(asked, sender, engineer, colleague):
    accept(request_id=asked.pk, agent=engineer)

    withdraw(request_id=asked.pk, agent=sender)

    asked.refresh_from_db()
    assert asked.status == "withdrawn" and asked.withdrawn_at is not None
    assert collab_events(asked.ticket)[-1] == ("withdrawn", sender.user.username)
    assert len(notices(engineer, "withdrawn")) == 1
    assert notices(colleague, "withdrawn") == []


@pytest.mark.parametrize(
    ("finish", "message"),
    [
        (lambda r, a, s: answer(request_id=r.pk, agent=a, text="好"), "answered already"),
        (lambda r, a, s: decline(request_id=r.pk, agent=a), "has been declined"),
        (lambda r, a, s: withdraw(request_id=r.pk, agent=s), "has been withdrawn"),
    ],
)
@pytest.mark.parametrize(
    "step",
    [
        lambda r, a, s: accept(request_id=r.pk, agent=a),
        lambda r, a, s: answer(request_id=r.pk, agent=a, text="再答一次"),
        lambda r, a, s: decline(request_id=r.pk, agent=a),
        lambda r, a, s: withdraw(request_id=r.pk, agent=s),
    ],
)
def test_a_finished_request_takes_no_further_step(asked, sender, engineer, finish, message, step):
    finish(asked, engineer, sender)
    before = (CollaborationRequest.objects.get().status, TicketEvent.objects.count())

    with translation.override("en"), pytest.raises(CollaborationError, match=message):
        step(asked, engineer, sender)

    assert (CollaborationRequest.objects.get().status, TicketEvent.objects.count()) == before


def test_a_request_is_accepted_once(asked, engineer, colleague):
    accept(request_id=asked.pk, agent=engineer)

    with translation.override("en"), pytest.raises(CollaborationError) as refused:
        accept(request_id=asked.pk, agent=colleague)

    assert str(refused.value) == "王工 has accepted this request already."
    assert CollaborationRequest.objects.get().owner == engineer


# --- who may act --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "step",
    [
        lambda r, agent: accept(request_id=r.pk, agent=agent),
        lambda r, agent: answer(request_id=r.pk, agent=agent, text="我来答"),
        lambda r, agent: decline(request_id=r.pk, agent=agent),
    ],
)
def test_an_agent_outside_the_asked_team_cannot_take_it(asked, sender, step):
    with translation.override("en"), pytest.raises(CollaborationNotAllowed) as refused:
        step(asked, sender)

    assert str(refused.value) == "Only Technical support or a supervisor can do this."
    asked.refresh_from_db()
    assert (asked.status, asked.owner) == ("open", None)
    assert collab_events(asked.ticket) == [("requested", sender.user.username)]


def test_another_agent_cannot_withdraw_someone_elses_request(asked, engineer):
    with pytest.raises(CollaborationNotAllowed):
        withdraw(request_id=asked.pk, agent=engineer)

    assert CollaborationRequest.objects.get().status == "open"


def test_a_supervisor_may_take_and_withdraw_any_request(asked, supervisor):
    accept(request_id=asked.pk, agent=supervisor)
    withdraw(request_id=asked.pk, agent=supervisor)

    assert CollaborationRequest.objects.get().status == "withdrawn"


def test_an_agent_who_cannot_see_the_ticket_cannot_ask_about_it(ticket, outsider, tech, engineer):
    with pytest.raises(CollaborationNotAllowed):
        request_collaboration(ticket_id=ticket.pk, agent=outsider, group=tech, note="?")

    assert not CollaborationRequest.objects.exists()
    assert notices(engineer) == []


# --- refused requests --------------------------------------------------------------------


def test_a_second_open_request_to_the_same_team_is_refused(asked, sender, tech):
    with translation.override("en"), pytest.raises(CollaborationError) as refused:
        request_collaboration(ticket_id=asked.ticket_id, agent=sender, group=tech, note="再问")

    assert str(refused.value) == "Technical support has an open request on this ticket already."
    assert CollaborationRequest.objects.count() == 1


def test_a_team_may_be_asked_again_once_it_answered(asked, sender, engineer, tech):
    answer(request_id=asked.pk, agent=engineer, text="见知识库")

    request_collaboration(ticket_id=asked.ticket_id, agent=sender, group=tech, note="还是不行")

    assert CollaborationRequest.objects.filter(status="open").count() == 1


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"note": "   "}, "The question may not be empty."),
        ({"note": "长" * (MAX_NOTE + 1)}, "The question is too long (at most 2000 characters)."),
        ({"note": ["list"]}, "The question must be text."),
        ({"due_minutes": 0}, "The answer must be due in 5 minutes to 7 days."),
        ({"due_minutes": 10**9}, "The answer must be due in 5 minutes to 7 days."),
        ({"due_minutes": "120"}, "The answer must be due in 5 minutes to 7 days."),
        ({"group": "tech"}, "Choose the team to ask."),
    ],
)
def test_bad_input_is_refused_with_a_message_and_leaves_no_trace(
    ticket, sender, tech, engineer, fields, message
):
    arguments = {"ticket_id": ticket.pk, "agent": sender, "group": tech, "note": "问"} | fields

    with translation.override("en"), pytest.raises(CollaborationError) as refused:
        request_collaboration(**arguments)

    assert str(refused.value) == message
    assert not CollaborationRequest.objects.exists()
    assert not TicketEvent.objects.filter(kind="collab").exists()
    assert notices(engineer) == []


def test_a_closed_ticket_the_tickets_own_team_and_an_empty_team_are_refused(
    ticket, sender, aftersales, engineer
):
    empty = SkillGroupFactory(code="legal", name_en="Legal")
    with translation.override("en"):
        with pytest.raises(CollaborationError, match="with After-sales already"):
            request_collaboration(ticket_id=ticket.pk, agent=sender, group=aftersales, note="?")
        with pytest.raises(CollaborationError, match="Nobody else is in Legal"):
            request_collaboration(ticket_id=ticket.pk, agent=sender, group=empty, note="?")
        change_ticket(ticket_id=ticket.pk, actor=None, status=Ticket.Status.CLOSED)
        with pytest.raises(CollaborationError, match="This ticket is closed."):
            request_collaboration(
                ticket_id=ticket.pk, agent=sender, group=engineer.skill_groups.get(), note="?"
            )
    assert not CollaborationRequest.objects.exists()


# --- due times ----------------------------------------------------------------------------


def test_the_answer_is_due_in_two_hours_by_default(ticket, sender, tech, engineer):
    with time_machine.travel(FRIDAY_17, tick=False):
        asked = request_collaboration(ticket_id=ticket.pk, agent=sender, group=tech, note="?")

    assert asked.due_at == FRIDAY_17 + timedelta(hours=2)  # the default policy: 24/7


def test_the_due_time_counts_the_tickets_business_hours(office_hours, sender, tech, engineer):
    with time_machine.travel(FRIDAY_17, tick=False):
        ticket = open_ticket(
            customer=CustomerFactory(), subject="?", type_code="repair", source="agent"
        )
        asked = request_collaboration(ticket_id=ticket.pk, agent=sender, group=tech, note="?")

    # Friday 17:00 + 2 business hours: one hour on Friday, one from Monday 09:00
    assert asked.due_at == datetime(2026, 12, 7, 10, 0, tzinfo=SHANGHAI)


def test_the_default_due_time_is_a_setting_and_each_request_may_choose(
    ticket, sender, tech, engineer, settings
):
    settings.TICKET_COLLABORATION_DUE_MINUTES = 30
    with time_machine.travel(FRIDAY_17, tick=False):
        by_setting = request_collaboration(ticket_id=ticket.pk, agent=sender, group=tech, note="?")
        withdraw(request_id=by_setting.pk, agent=sender)
        chosen = request_collaboration(
            ticket_id=ticket.pk, agent=sender, group=tech, note="?", due_minutes=240
        )

    assert by_setting.due_at == FRIDAY_17 + timedelta(minutes=30)
    assert chosen.due_at == FRIDAY_17 + timedelta(hours=4)


# --- overdue ------------------------------------------------------------------------------


def make_overdue(*requests):
    CollaborationRequest.objects.filter(pk__in=[r.pk for r in requests]).update(
        due_at=timezone.now() - timedelta(minutes=1)
    )


def test_an_overdue_request_is_flagged_once_and_its_people_told_once(
    asked, sender, engineer, colleague
):
    make_overdue(asked)

    assert record_overdue_requests() == [asked.pk]
    assert record_overdue_requests() == []

    asked.refresh_from_db()
    assert asked.overdue_at is not None
    assert [f for f, _ in collab_events(asked.ticket)].count("overdue") == 1
    for person in (sender, engineer, colleague):  # nobody owns it: the whole team
        assert len(notices(person, "overdue")) == 1


def test_an_owned_overdue_request_tells_its_owner_and_the_sender_only(
    asked, sender, engineer, colleague
):
    accept(request_id=asked.pk, agent=engineer)
    make_overdue(asked)

    record_overdue_requests()

    assert len(notices(engineer, "overdue")) == len(notices(sender, "overdue")) == 1
    assert notices(colleague, "overdue") == []


def test_answered_declined_and_withdrawn_requests_are_never_overdue(ticket, sender, engineer, tech):
    done = []
    for finish in (
        lambda r: answer(request_id=r.pk, agent=engineer, text="好"),
        lambda r: decline(request_id=r.pk, agent=engineer),
        lambda r: withdraw(request_id=r.pk, agent=sender),
    ):
        asked = request_collaboration(ticket_id=ticket.pk, agent=sender, group=tech, note="?")
        finish(asked)
        done.append(asked)
    make_overdue(*done)

    assert record_overdue_requests() == []
    assert Notice.objects.filter(key__endswith=":overdue").count() == 0


@pytest.mark.django_db(transaction=True)
def test_two_runs_at_once_flag_each_request_and_tell_each_person_exactly_once(
    sender, tech, engineer, colleague, aftersales
):
    customer = CustomerFactory()
    requests = []
    for n in range(30):
        opened = open_ticket(
            customer=customer,
            subject=f"#{n}",
            type_code="repair",
            source="agent",
            skill_group=aftersales,
        )
        requests.append(
            request_collaboration(ticket_id=opened.pk, agent=sender, group=tech, note="?")
        )
    make_overdue(*requests)
    results: list[list[int]] = []
    start = threading.Barrier(2)

    def run():
        try:
            start.wait()
            results.append(record_overdue_requests())
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    flagged = [pk for result in results for pk in result]
    assert sorted(flagged) == sorted(r.pk for r in requests)
    assert TicketEvent.objects.filter(kind="collab", field="overdue").count() == 30
    for person in (sender, engineer, colleague):
        assert len(notices(person, "overdue")) == 30


def test_the_scheduled_task_reports_how_many_it_flagged(asked):
    make_overdue(asked)

    assert collaboration_overdue_task.apply().get() == 1
    assert collaboration_overdue_task.apply().get() == 0


def test_the_task_runs_every_minute(settings):
    schedule = settings.CELERY_BEAT_SCHEDULE["collaboration-overdue"]
    assert schedule == {"task": "tickets.tasks.collaboration_overdue_task", "schedule": 60.0}


# --- visibility ---------------------------------------------------------------------------


def test_the_asked_team_sees_the_ticket_while_the_request_is_open(
    ticket, sender, tech, engineer, outsider
):
    assert not visible_tickets(engineer).filter(pk=ticket.pk).exists()

    asked = request_collaboration(ticket_id=ticket.pk, agent=sender, group=tech, note="?")
    assert visible_tickets(engineer).filter(pk=ticket.pk).exists()
    accept(request_id=asked.pk, agent=engineer)
    assert visible_tickets(engineer).filter(pk=ticket.pk).exists()
    assert not visible_tickets(outsider).filter(pk=ticket.pk).exists()

    answer(request_id=asked.pk, agent=engineer, text="好")
    assert not visible_tickets(engineer).filter(pk=ticket.pk).exists()
    assert visible_tickets(sender).filter(pk=ticket.pk).exists()


def test_the_ticket_list_shows_an_asked_ticket_to_the_team(client, asked, engineer):
    client.force_login(engineer.user)

    body = client.get(reverse("tickets:list")).content.decode()

    assert f'data-ticket="{asked.ticket.number}"' in body


# --- desk pages ---------------------------------------------------------------------------


def desk(client, agent, language="zh-hans"):
    client.force_login(agent.user)
    client.cookies["django_language"] = language
    return client


def test_an_agent_asks_from_the_ticket_page(client, ticket, sender, tech, engineer):
    response = desk(client, sender).post(
        reverse("tickets:request-help", args=[ticket.pk]),
        {"group": "tech", "note": "固件问题？", "due": "60"},
    )

    assert response.status_code == 302
    assert response["Location"] == reverse("tickets:detail", args=[ticket.pk])
    asked = CollaborationRequest.objects.get()
    assert (asked.to_group, asked.note) == (tech, "固件问题？")
    assert asked.due_at - asked.created_at < timedelta(minutes=61)
    page = client.get(response["Location"]).content.decode()
    assert f'data-request="{asked.pk}"' in page and "固件问题？" in page


def test_the_ticket_page_offers_each_person_the_buttons_they_may_use(
    client, asked, sender, engineer
):
    url = reverse("tickets:detail", args=[asked.ticket_id])

    as_sender = desk(client, sender).get(url).content.decode()
    assert "collab-withdraw" in as_sender and "collab-accept" not in as_sender
    assert 'id="collab-send"' in as_sender

    as_engineer = desk(client, engineer).get(url).content.decode()
    assert "collab-accept" in as_engineer and "collab-withdraw" not in as_engineer


def test_an_agent_who_cannot_see_the_ticket_gets_a_404_when_asking(
    client, ticket, outsider, tech, engineer
):
    response = desk(client, outsider).post(
        reverse("tickets:request-help", args=[ticket.pk]), {"group": "tech", "note": "?"}
    )

    assert response.status_code == 404
    assert not CollaborationRequest.objects.exists()


def test_a_long_note_is_refused_with_a_clear_message(client, ticket, sender, tech, engineer):
    response = desk(client, sender, "en").post(
        reverse("tickets:request-help", args=[ticket.pk]),
        {"group": "tech", "note": "x" * (MAX_NOTE + 1)},
        follow=True,
    )

    assert response.redirect_chain[-1][1] == 303
    assert "The question is too long (at most 2000 characters)." in response.content.decode()
    assert not CollaborationRequest.objects.exists()


@pytest.mark.parametrize(
    ("form", "message"),
    [
        ({"group": "nope"}, "Choose the team to ask."),
        ({"group": "tech", "due": "x"}, "The answer must be due in 5 minutes to 7 days."),
        ({"group": "tech", "due": "9" * 40}, "The answer must be due in 5 minutes to 7 days."),
    ],
)
def test_a_bad_form_is_refused_with_a_message(
    client, ticket, sender, tech, engineer, form, message
):
    response = desk(client, sender, "en").post(
        reverse("tickets:request-help", args=[ticket.pk]), form | {"note": "?"}, follow=True
    )

    assert response.status_code == 200 and response.redirect_chain[-1][1] == 303
    assert message in response.content.decode()
    assert not CollaborationRequest.objects.exists()


def test_hostile_html_in_a_note_and_an_answer_is_shown_as_text(
    client, ticket, sender, tech, engineer
):
    asked = request_collaboration(ticket_id=ticket.pk, agent=sender, group=tech, note=XSS)
    answer(request_id=asked.pk, agent=engineer, text=XSS)

    ticket_page = desk(client, sender).get(reverse("tickets:detail", args=[ticket.pk]))
    requests_page = client.get(reverse("tickets:requests"))

    for body in (ticket_page.content.decode(), requests_page.content.decode()):
        assert XSS not in body and "<script>alert" not in body and "<img src=x" not in body
        assert "&lt;script&gt;" in body


@pytest.mark.parametrize("name", ["accept", "answer", "decline", "withdraw"])
def test_a_step_is_post_only(client, asked, engineer, name):
    response = desk(client, engineer).get(reverse(f"tickets:request-{name}", args=[asked.pk]))

    assert response.status_code == 405


def test_asking_is_post_only(client, ticket, sender):
    response = desk(client, sender).get(reverse("tickets:request-help", args=[ticket.pk]))

    assert response.status_code == 405


@pytest.mark.parametrize("name", ["accept", "answer", "decline", "withdraw"])
def test_an_unknown_or_unseen_request_is_a_404(client, asked, outsider, name):
    desk(client, outsider)
    for request_id in (asked.pk, asked.pk + 1000, 10**30):
        response = client.post(reverse(f"tickets:request-{name}", args=[request_id]), {"text": "x"})
        assert response.status_code == 404
    assert CollaborationRequest.objects.get().status == "open"


def test_an_agent_of_the_tickets_team_may_not_accept_for_another_team(client, asked, aftersales):
    other = member(aftersales)

    response = desk(client, other, "en").post(
        reverse("tickets:request-accept", args=[asked.pk]), follow=True
    )

    assert response.redirect_chain[-1][1] == 303
    assert "Only Technical support or a supervisor can do this." in response.content.decode()
    assert CollaborationRequest.objects.get().status == "open"


def test_the_team_accepts_and_answers_from_the_requests_page(client, asked, sender, engineer):
    desk(client, engineer)
    accepted = client.post(reverse("tickets:request-accept", args=[asked.pk]), {"next": "requests"})
    assert accepted["Location"] == reverse("tickets:requests")

    answered = client.post(
        reverse("tickets:request-answer", args=[asked.pk]), {"text": "升级固件", "next": "ticket"}
    )

    # Answered, the ticket is no longer the team's to open: back to the requests page.
    assert answered["Location"] == reverse("tickets:requests")
    assert CollaborationRequest.objects.get().status == "answered"
    page = desk(client, sender).get(reverse("tickets:detail", args=[asked.ticket_id]))
    assert "升级固件" in page.content.decode()


def test_an_empty_answer_is_refused(client, asked, engineer):
    response = desk(client, engineer, "en").post(
        reverse("tickets:request-answer", args=[asked.pk]), {"text": "  "}, follow=True
    )

    assert "The answer may not be empty." in response.content.decode()
    assert CollaborationRequest.objects.get().status == "open"


def test_the_requests_page_lists_my_teams_requests_overdue_first_and_those_i_sent(
    client, ticket, sender, tech, engineer, aftersales
):
    later = request_collaboration(ticket_id=ticket.pk, agent=sender, group=tech, note="later")
    second = open_ticket(
        customer=CustomerFactory(),
        subject="二",
        type_code="repair",
        source="agent",
        skill_group=aftersales,
    )
    overdue = request_collaboration(ticket_id=second.pk, agent=sender, group=tech, note="late")
    make_overdue(overdue)

    body = desk(client, engineer).get(reverse("tickets:requests")).content.decode()
    for_us = body.split('id="collab-for-us"')[1].split('id="collab-sent"')[0]
    assert for_us.index(f'data-request="{overdue.pk}"') < for_us.index(f'data-request="{later.pk}"')
    assert 'class="collab-request status-open overdue"' in for_us

    mine = desk(client, sender).get(reverse("tickets:requests")).content.decode()
    sent = mine.split('id="collab-sent"')[1]
    assert f'data-request="{later.pk}"' in sent and f'data-request="{overdue.pk}"' in sent


def test_the_requests_page_takes_as_many_queries_for_ten_requests_as_for_one(
    client, sender, tech, engineer, aftersales
):
    def ask():
        opened = open_ticket(
            customer=CustomerFactory(),
            subject="?",
            type_code="repair",
            source="agent",
            skill_group=aftersales,
        )
        request_collaboration(ticket_id=opened.pk, agent=sender, group=tech, note="?")

    ask()
    desk(client, engineer)
    with CaptureQueriesContext(connection) as one:
        client.get(reverse("tickets:requests"))
    for _ in range(9):
        ask()
    with CaptureQueriesContext(connection) as ten:
        body = client.get(reverse("tickets:requests")).content.decode()

    assert body.count("data-request=") == 10
    assert len(ten) == len(one)


def test_the_tickets_list_links_to_the_requests_with_the_number_waiting(client, asked, engineer):
    body = desk(client, engineer).get(reverse("tickets:list")).content.decode()

    assert 'id="collab-requests-link"' in body
    assert '<span class="badge">1</span>' in body


def test_the_timeline_names_each_step_in_the_readers_words(client, asked, sender, engineer):
    accept(request_id=asked.pk, agent=engineer)
    answer(request_id=asked.pk, agent=engineer, text="升级固件")

    body = desk(client, sender, "en").get(reverse("tickets:detail", args=[asked.ticket_id]))

    text = body.content.decode()
    assert "asked Technical support for help" in text
    assert "accepted the request to Technical support" in text
    assert "answer from Technical support" in text


def test_the_admin_shows_requests_without_changing_them(admin_client, asked):
    listing = admin_client.get("/admin/tickets/collaborationrequest/")
    one = admin_client.get(f"/admin/tickets/collaborationrequest/{asked.pk}/change/")
    edit = admin_client.post(
        f"/admin/tickets/collaborationrequest/{asked.pk}/change/", {"status": "answered"}
    )

    assert listing.status_code == 200 and one.status_code == 200
    assert edit.status_code == 403
    assert CollaborationRequest.objects.get().status == "open"


# --- demo data ----------------------------------------------------------------------------


def test_the_demo_has_a_technical_team_to_ask_even_in_an_older_installation():
    call_command("load_demo")
    SkillGroup.objects.filter(code="tech").delete()  # as before the team was added

    call_command("load_demo")

    tech = SkillGroup.objects.get(code="tech")
    assert not tech.in_menu
    assert set(tech.agents.values_list("user__username", flat=True)) == {"agent2", "supervisor"}
