"""Notices to agents: made once, in both languages, live on the desk, read on a page."""

import asyncio

import pytest
from asgiref.sync import sync_to_async
from django.urls import reverse
from django.utils.translation import gettext as _

from conversations.models import Notice
from conversations.services.notices import (
    Draft,
    mark_notices_read,
    notify,
    notify_many,
)
from tests.factories import AgentFactory
from tests.wsclient import Socket, login_cookie


def tell(agents, key="ticket:1:assigned"):
    return notify(
        agents=agents,
        kind="ticket_assigned",
        key=key,
        text=lambda: (
            _("Ticket %(number)s is yours: %(subject)s")
            % {"number": "T-000001", "subject": "耳机坏了"}
        ),
        url="/desk/tickets/1/",
    )


@pytest.mark.django_db
def test_a_notice_is_written_in_both_languages_once_per_agent_and_key():
    first, second = AgentFactory(), AgentFactory()

    made = tell([first, second])
    again = tell([first, second.pk])

    assert len(made) == 2 and again == []
    notice = Notice.objects.get(agent=first)
    assert notice.text_zh == "工单 T-000001 已分配给您：耳机坏了"
    assert notice.text_en == "Ticket T-000001 is yours: 耳机坏了"
    assert Notice.objects.count() == 2


@pytest.mark.django_db
def test_marking_read_touches_only_the_agents_own_notices():
    mine, theirs = AgentFactory(), AgentFactory()
    tell([mine, theirs])
    their_notice = Notice.objects.get(agent=theirs)

    assert mark_notices_read(agent=mine, notice_ids=[their_notice.pk]) == 0
    assert mark_notices_read(agent=mine) == 1
    their_notice.refresh_from_db()
    assert their_notice.read_at is None


@pytest.mark.django_db
def test_the_notices_page_lists_them_in_the_page_language_and_the_badge_counts_unread(client):
    agent = AgentFactory()
    tell([agent])
    tell([agent], key="ticket:2:assigned")
    client.force_login(agent.user)

    page = client.get(reverse("desk:notices"), HTTP_ACCEPT_LANGUAGE="en").content.decode()

    assert page.count("Ticket T-000001 is yours") == 2
    assert 'id="desk-notice-count">2<' in page


@pytest.mark.django_db
def test_mark_read_from_the_page_clears_the_badge(client):
    agent = AgentFactory()
    (notice,) = tell([agent])
    client.force_login(agent.user)

    response = client.post(reverse("desk:notices-read"), {"notice": str(notice.pk)})

    assert response.status_code == 302
    page = client.get(reverse("desk:notices")).content.decode()
    assert 'id="desk-notice-count" hidden>0<' in page


@pytest.mark.django_db
@pytest.mark.parametrize("value", ["abc", "-1", "99999999999999999999", ""])
def test_a_bad_notice_id_marks_nothing_of_anyone_elses_and_is_not_an_error(client, value):
    agent, other = AgentFactory(), AgentFactory()
    tell([agent, other])
    client.force_login(agent.user)

    response = client.post(reverse("desk:notices-read"), {"notice": value})

    assert response.status_code == 302
    assert Notice.objects.get(agent=other).read_at is None


@pytest.mark.django_db
def test_the_notices_page_is_for_agents_only(client):
    response = client.get(reverse("desk:notices"))
    assert response.status_code == 302
    assert reverse("desk:login") in response["Location"]
    assert client.get(reverse("desk:notices-read")).status_code in (302, 405)


@pytest.mark.django_db(transaction=True)
def test_a_new_notice_reaches_every_desk_of_its_agent_live(live):
    agent, other = AgentFactory(), AgentFactory()
    cookie, other_cookie = login_cookie(agent.user), login_cookie(other.user)

    async def scenario():
        laptop = await Socket.desk(live, cookie)
        phone = await Socket.desk(live, cookie)
        colleague = await Socket.desk(live, other_cookie)
        for socket in (laptop, phone, colleague):
            await socket.expect("presence")
        await sync_to_async(tell)([agent])
        frames = [await laptop.expect("notice"), await phone.expect("notice")]
        quiet = await colleague.silent(kind="notice")
        for socket in (laptop, phone, colleague):
            await socket.close()
        return frames, quiet

    frames, quiet = asyncio.run(scenario())

    assert [f["notice"]["text_en"] for f in frames] == ["Ticket T-000001 is yours: 耳机坏了"] * 2
    assert frames[0]["notice"]["url"] == "/desk/tickets/1/"
    assert quiet


@pytest.mark.django_db(transaction=True)
def test_a_batch_of_notices_reaches_each_desk_as_one_frame_that_counts_them(live):
    agent, other = AgentFactory(), AgentFactory()
    cookie = login_cookie(agent.user)

    def draft(n, agents):
        return Draft(
            agents=agents,
            kind="sla_breached",
            key=f"ticket:{n}:sla_breached",
            text=lambda: (
                _("Ticket %(number)s is yours: %(subject)s")
                % {"number": f"T-00000{n}", "subject": "耳机坏了"}
            ),
        )

    async def scenario():
        desk = await Socket.desk(live, cookie)
        await desk.expect("presence")
        await sync_to_async(notify_many)([draft(n, [agent, other]) for n in range(1, 8)])
        frame = await desk.expect("notice")
        quiet = await desk.silent(kind="notice")
        await desk.close()
        return frame["notice"], quiet

    notice, quiet = asyncio.run(scenario())

    assert notice["text_en"] == "Ticket T-000001 is yours: 耳机坏了"  # the first, and
    assert notice["count"] == 7  # how many there are
    assert quiet  # nothing more: one toast, not seven
    assert Notice.objects.filter(agent=agent).count() == 7  # all of them are on the page
