"""Access control, walked over the URL resolver: every route of the desk, the dashboards,
the rooms, the tickets and admin, requested by the wrong person — anonymous, a user who
is no agent, an agent who is not staff, an agent who is not a supervisor, an agent whose
scope the object is not in — is refused (a redirect to the login page, 403 or 404),
never answered with the data and never a 500. A route added later is in the walk the
day it is added, and fails it until it is classified here: public (PUBLIC), for
supervisors only (SUPERVISOR_ONLY), or, when it takes an object in its path, given a
foreign object to be refused (FOREIGN). docs/security.md, "Access control: every route,
the wrong person". The partner API (/api/v1/) is walked by test_api_routes.py."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from types import SimpleNamespace

import pytest
from django.apps import apps
from django.contrib.auth.models import Group
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from conversations.models import Conversation, Notice
from conversations.rooms import services as rooms
from conversations.rooms.models import Room, RoomMessage
from helpdesk.routing import websocket_urlpatterns
from tests.conversations.upload_helpers import png
from tests.factories import (
    AgentFactory,
    AttachmentFactory,
    ConversationFactory,
    CustomerFactory,
    CustomerNoteFactory,
    CustomerTagFactory,
    SkillGroupFactory,
    UserFactory,
)
from tests.routes import Route, site_routes
from tests.wsclient import Socket
from tickets.defaults import ensure_defaults
from tickets.models import Macro, SLAPolicy, SLATarget, TicketType
from tickets.services import collaboration, open_ticket
from tickets.services.saved_views import save_view

pytestmark = pytest.mark.django_db

DESK_LOGIN = "/desk/login/"
ADMIN_LOGIN = "/admin/login/"

# Routes anyone may request, and why. Everything else refuses the wrong person.
PUBLIC = {
    "/": "redirects to the chat page",
    "healthz": "the load balancer's health check: status only",
    "chat": "the customers' chat page",
    "widget-js": "the chat widget's script, loaded by the shop's pages",
    "desk:login": "the desk's login page",
    "desk:logout": "logging out",
    "help:home": "the public help centre",
    "help:search": "the public help centre",
    "help:category": "the public help centre (published categories only)",
    "help:article": "the public help centre (published articles only)",
    "help:feedback": "a reader's 'was this helpful?' on a public article",
    "set_language": "the language switch",
    "schema": "the partner API's OpenAPI description (no data)",
    "api-docs": "Swagger UI over that description (no data)",
    "admin:login": "admin's login page",
    "admin:logout": "logging out of admin",
}
# Walked by tests/helpdesk/test_api_routes.py (keys, scopes; the chat's own tokens).
API_PREFIX = "/api/v1/"
# Desk routes without an object in the path that a plain agent is refused (403).
SUPERVISOR_ONLY = {
    "desk:board": "the live board",
    "desk:board-live": "the live board's refresh",
    "analytics:overview": "the dashboards and their CSV exports (?export=…)",
    "analytics:drill": "the dashboards' drill-down and its CSV export",
}

ROUTES = site_routes()
ADMIN = [route for route in ROUTES if route.route.startswith("/admin/")]
SITE = [
    route
    for route in ROUTES
    if not route.route.startswith(("/admin/", API_PREFIX)) and route.key not in PUBLIC
]
DESK = [route for route in SITE if route.route.startswith("/desk/")]
OBJECT_ROUTES = [route for route in SITE if route.parameters]
PLAIN_DESK = [route for route in DESK if not route.parameters]
# Admin's app index pages, the one admin route the walk cannot fill from the resolver.
ADMIN_APP_INDEXES = ["/admin/auth/", "/admin/customers/", "/admin/tickets/", "/admin/helpdesk/"]


def _route(key: str) -> Route:
    return next(route for route in ROUTES if route.key == key)


# --- the world: an agent, their own things, and another scope's ----------------------


@dataclass
class World:
    me: SimpleNamespace
    other: SimpleNamespace  # an agent of another group
    third: SimpleNamespace  # another agent of that group
    mine: SimpleNamespace
    theirs: SimpleNamespace
    markers: list[str]  # text only another scope's things carry


@pytest.fixture(autouse=True)
def _quick_passwords(settings):
    """The many users here log in with force_login: their passwords need no strong hash."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def _upload() -> SimpleUploadedFile:
    return SimpleUploadedFile("plan.png", png(), content_type="image/png")


def _room_with_message(room: Room, author, body: str) -> SimpleNamespace:
    attachment = rooms.store_room_attachment(room=room, by=author, upload=_upload())
    message, _ = rooms.post_message(
        room=room, author=author, body=body, attachment_ids=[attachment.pk]
    )
    return SimpleNamespace(room=room, message=message, attachment=attachment)


@pytest.fixture
def world(settings, tmp_path) -> World:
    settings.MEDIA_ROOT = tmp_path
    ensure_defaults(TicketType, SLAPolicy, SLATarget)
    mine, theirs, elsewhere = (
        SkillGroupFactory(code="ours", name_en="Ours"),
        SkillGroupFactory(code="theirs", name_en="Theirs"),
        SkillGroupFactory(code="elsewhere", name_en="Elsewhere"),
    )
    me = AgentFactory(user=UserFactory(username="me"), display_name="Me")
    other = AgentFactory(user=UserFactory(username="other"), display_name="Other")
    third = AgentFactory(user=UserFactory(username="third"), display_name="Third")
    me.skill_groups.add(mine)
    other.skill_groups.add(theirs)
    third.skill_groups.add(theirs)
    AgentFactory(user=UserFactory(username="fourth")).skill_groups.add(elsewhere)

    # Mine: a conversation I am serving, its customer's note and tag, a ticket of my
    # group, my group's room with a message and a file.
    my_customer = CustomerFactory(name="My customer")
    my_chat = ConversationFactory(
        customer=my_customer,
        status=Conversation.Status.ASSIGNED,
        assignee=me,
        skill_group=mine,
    )
    my_ticket = open_ticket(
        customer=my_customer,
        subject="My ticket",
        type_code="repair",
        source="agent",
        skill_group=mine,
    )
    my_room = _room_with_message(Room.objects.get(skill_group=mine), me, "my room's message")

    # Theirs: another group's conversations (being served, waiting, closed) with a
    # customer I have never served, that customer's note and tag and a file; a ticket of
    # their group and the request for help they sent about it to a third group; their
    # private saved view; a macro only for their group; their group's room, a room of
    # theirs and a direct conversation between the two of them, each with a message and
    # a file; a notice of theirs.
    their_customer = CustomerFactory(name="Secret customer 机密顾客")
    served = ConversationFactory(
        customer=their_customer,
        status=Conversation.Status.ASSIGNED,
        assignee=other,
        skill_group=theirs,
    )
    waiting = ConversationFactory(
        customer=CustomerFactory(name="Secret waiting customer"),
        status=Conversation.Status.QUEUED,
        skill_group=theirs,
        queued_at=timezone.now(),
        last_seq=1,
    )
    closed = ConversationFactory(
        customer=CustomerFactory(name="Secret former customer"),
        status=Conversation.Status.CLOSED,
        assignee=other,
        skill_group=theirs,
    )
    ticket = open_ticket(
        customer=their_customer,
        subject="Secret ticket 机密工单",
        type_code="repair",
        source="agent",
        skill_group=theirs,
    )
    help_request = collaboration.request_collaboration(
        ticket_id=ticket.pk, agent=other, group=elsewhere, note="Secret request"
    )
    view = save_view(owner=other, name="Secret view", filters={"status": "open"})
    macro = Macro.objects.create(name_zh="机密宏", name_en="Secret macro", actions=[])
    macro.skill_groups.add(theirs)
    Notice.objects.create(
        agent=other, kind="test", key="secret", text_zh="机密通知", text_en="Secret notice"
    )
    their_theirs = SimpleNamespace(
        customer=their_customer,
        chats={"served": served, "waiting": waiting, "closed": closed},
        note=CustomerNoteFactory(customer=their_customer, author=other.user, body="Secret note"),
        tag=CustomerTagFactory(customer=their_customer, name="secret-tag"),
        file=AttachmentFactory(conversation=served),
        ticket=ticket,
        help_request=help_request,
        view=view,
        macro=macro,
        rooms={
            "their group's room": _room_with_message(
                Room.objects.get(skill_group=theirs), other, "Secret team message"
            ),
            "a room of theirs": _room_with_message(
                rooms.create_room(by=other, name="Secret room", member_ids=[third.pk]),
                other,
                "Secret room message",
            ),
            "a direct conversation between two others": _room_with_message(
                rooms.direct_room(agent=other, other_id=third.pk), third, "Secret DM"
            ),
        },
    )
    return World(
        me=me,
        other=other,
        third=third,
        mine=SimpleNamespace(
            customer=my_customer,
            chat=my_chat,
            note=CustomerNoteFactory(customer=my_customer, author=me.user, body="my note"),
            tag=CustomerTagFactory(customer=my_customer, name="my-tag"),
            ticket=my_ticket,
            room=my_room,
        ),
        theirs=their_theirs,
        markers=[
            "Secret",
            "机密",
            "secret-tag",
            str(served.pk),
            str(waiting.pk),
            str(closed.pk),
            ticket.number,
        ],
    )


def _client(user=None) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    if user is not None:
        client.force_login(user)
    return client


# Rows any refused POST must leave as they were.
WATCHED = [
    "conversations.Conversation",
    "conversations.Message",
    "conversations.InternalNote",
    "conversations.Participant",
    "conversations.Attachment",
    "conversations.Notice",
    "conversations.Room",
    "conversations.RoomMember",
    "conversations.RoomMessage",
    "conversations.RoomAttachment",
    "conversations.RoomReadPosition",
    "conversations.UrgentAcknowledgement",
    "customers.Customer",
    "customers.CustomerNote",
    "customers.CustomerTag",
    "customers.CustomerMerge",
    "tickets.Ticket",
    "tickets.TicketComment",
    "tickets.TicketEvent",
    "tickets.SavedView",
    "tickets.CollaborationRequest",
]


def _rows() -> dict:
    return {label: list(apps.get_model(label).objects.order_by("pk").values()) for label in WATCHED}


def _refused(response, login: str) -> bool:
    """403, 404, 405 (the method is not this route's), or sent to log in."""
    if response.status_code in (403, 404, 405):
        return True
    return response.status_code == 302 and response["Location"].startswith(login)


# --- the walk finds and classifies every route ---------------------------------------


def test_the_walk_finds_the_routes():
    keys = {route.key for route in ROUTES}

    assert len(SITE) > 60 and len(ADMIN) > 250
    assert {"desk:conversation", "tickets:detail", "desk:room", "analytics:overview"} <= keys
    assert {"admin:index", "admin:customers_customer_export"} <= keys


def test_every_public_and_supervisor_route_still_exists():
    keys = {route.key for route in ROUTES}

    assert set(PUBLIC) - keys == set()
    assert set(SUPERVISOR_ONLY) - keys == set()


def test_every_route_with_an_object_in_its_path_has_a_foreign_object():
    """A new object route fails here until FOREIGN says what of another scope to try."""
    assert {route.key for route in OBJECT_ROUTES} == set(FOREIGN)


def test_the_routes_outside_the_desk_admin_and_api_are_public_or_signed_links():
    outside = [route.key for route in SITE if not route.route.startswith("/desk/")]

    assert sorted(outside) == ["attachment-file", "recommendation-click"]


# --- anonymous -----------------------------------------------------------------------


@pytest.mark.parametrize("route", SITE, ids=str)
def test_an_anonymous_request_is_sent_to_log_in_or_refused(route):
    client = _client()

    for method in (client.get, client.post):
        response = method(route.url())
        assert _refused(response, DESK_LOGIN), (method.__name__, response.status_code)


def _not_sent_to_admins_login(client: Client) -> list:
    """The admin routes (but its login and logout) that answered `client` otherwise than
    with a redirect to admin's login page, GET and POST."""
    urls = [route.url() for route in ADMIN if route.key not in PUBLIC] + ADMIN_APP_INDEXES
    return [
        (method.__name__, url, response.status_code)
        for url in urls
        for method in (client.get, client.post)
        if (response := method(url)).status_code != 302
        or not response["Location"].startswith(ADMIN_LOGIN)
    ]


def test_an_anonymous_request_to_admin_is_sent_to_admins_login():
    assert _not_sent_to_admins_login(_client()) == []


# --- logged in, but not the right kind of person --------------------------------------


@pytest.mark.parametrize("route", DESK, ids=str)
def test_a_user_who_is_no_agent_is_refused_every_desk_route(route):
    client = _client(UserFactory(username="shopper"))

    for method in (client.get, client.post):
        response = method(route.url())
        assert response.status_code in (403, 404, 405), (method.__name__, response.status_code)


def test_an_agent_who_is_not_staff_is_sent_to_admins_login_everywhere_in_admin():
    agent = AgentFactory(user=UserFactory(username="desk-only"))

    assert _not_sent_to_admins_login(_client(agent.user)) == []


@pytest.mark.parametrize("key", sorted(SUPERVISOR_ONLY))
def test_a_plain_agent_is_refused_the_supervisors_pages(world, key):
    client = _client(world.me.user)
    url = _route(key).url()

    assert client.get(url).status_code == 403
    assert client.get(url, {"export": "agents"}).status_code == 403
    assert client.post(url).status_code == 403


@pytest.mark.parametrize("key", sorted(SUPERVISOR_ONLY))
def test_a_supervisor_opens_the_supervisors_pages(world, key):
    Group.objects.get_or_create(name="Supervisors")[0].user_set.add(world.other.user)

    response = _client(world.other.user).get(_route(key).url())

    assert response.status_code not in (403, 404)


@pytest.mark.parametrize(
    "route", [route for route in PLAIN_DESK if route.key not in SUPERVISOR_ONLY], ids=str
)
def test_the_pages_a_plain_agent_may_open_show_nothing_of_another_scope(world, route):
    response = _client(world.me.user).get(route.url())
    body = response.content.decode()

    assert response.status_code in (200, 405)
    assert [marker for marker in world.markers if marker in body] == []


# --- objects of another agent's scope ------------------------------------------------


@dataclass(frozen=True)
class Foreign:
    """What to put in a route's path: `kwargs(world)`; `owner`: who in the world may open
    it (a GET of theirs shows the object is there), None when no one may (a foreign
    object under one of mine)."""

    label: str
    kwargs: Callable[[World], dict]
    owner: str | None = "other"


def _chats(extra: Callable[[World], dict] | None = None) -> list[Foreign]:
    return [
        Foreign(
            f"another group's conversation, {state}",
            lambda w, state=state: {
                "conversation_id": w.theirs.chats[state].pk,
                **(extra(w) if extra else {}),
            },
        )
        for state in ("served", "waiting", "closed")
    ]


def _rooms(message: bool = False, attachment: bool = False) -> list[Foreign]:
    def kwargs(w: World, which: str) -> dict:
        found = w.theirs.rooms[which]
        values = {"room_id": found.room.pk}
        if message:
            values["message_id"] = found.message.pk
        if attachment:
            values["attachment_id"] = found.attachment.pk
        return values

    owners = {
        "their group's room": "other",
        "a room of theirs": "other",
        "a direct conversation between two others": "third",
    }
    variants = [
        Foreign(which, lambda w, which=which: kwargs(w, which), owner)
        for which, owner in owners.items()
    ]
    if message or attachment:
        variants.append(
            Foreign(
                "my room, a message or file of a room of theirs",
                lambda w: (
                    {"room_id": w.mine.room.room.pk}
                    | {k: v for k, v in kwargs(w, "a room of theirs").items() if k != "room_id"}
                ),
                None,
            )
        )
    return variants


TICKET = [Foreign("another group's ticket", lambda w: {"ticket_id": w.theirs.ticket.pk})]
REQUEST = [
    Foreign(
        "another group's request for help to a third",
        lambda w: {"request_id": w.theirs.help_request.pk},
    )
]
VIEW = [Foreign("another agent's private view", lambda w: {"view_id": w.theirs.view.pk})]
MY_CHAT_THEIR_NOTE = Foreign(
    "my conversation, their customer's note",
    lambda w: {"conversation_id": w.mine.chat.pk, "note_id": w.theirs.note.pk},
    None,
)
MY_CHAT_THEIR_TAG = Foreign(
    "my conversation, their customer's tag",
    lambda w: {"conversation_id": w.mine.chat.pk, "tag_id": w.theirs.tag.pk},
    None,
)

# Every route with an object in its path, and the foreign objects to try on it.
FOREIGN: dict[str, list[Foreign]] = {
    "desk:conversation": _chats(),
    "desk:take": _chats(),
    "desk:suggestions": _chats(),
    "desk:close": _chats(),
    "desk:transfer": _chats(),
    "desk:invite": _chats(),
    "desk:leave-consultation": _chats(),
    "desk:note": _chats(),
    "desk:tags": _chats(),
    "desk:upload": _chats(),
    "desk:customer-panel": _chats(),
    "desk:customer-note-add": _chats(),
    "desk:customer-note-edit": [
        *_chats(lambda w: {"note_id": w.theirs.note.pk}),
        MY_CHAT_THEIR_NOTE,
    ],
    "desk:customer-note-delete": [
        *_chats(lambda w: {"note_id": w.theirs.note.pk}),
        MY_CHAT_THEIR_NOTE,
    ],
    "desk:customer-tag-add": _chats(),
    "desk:customer-tag-remove": [
        *_chats(lambda w: {"tag_id": w.theirs.tag.pk}),
        MY_CHAT_THEIR_TAG,
    ],
    "desk:customer-merge": _chats(),
    # Customers are not scoped to agents (a merge's search finds any customer), so the
    # foreign object here is the conversation it is reached through.
    "desk:customer-merge-with": _chats(lambda w: {"customer_id": w.mine.customer.pk}),
    "attachment-file": [
        Foreign(
            "another group's conversation's file, a link not signed by us",
            lambda w: {"attachment_id": w.theirs.file.pk, "signature": "forged"},
        )
    ],
    "recommendation-click": [
        Foreign("a link not signed by us", lambda w: {"token": "forged"}, None),
    ],
    "tickets:detail": TICKET,
    "tickets:comment": TICKET,
    "tickets:change": TICKET,
    "tickets:request-help": TICKET,
    "tickets:apply-macro": [
        Foreign(
            "another group's ticket, their macro",
            lambda w: {"ticket_id": w.theirs.ticket.pk, "macro_id": w.theirs.macro.pk},
        ),
        Foreign(
            "my ticket, a macro only for another group",
            lambda w: {"ticket_id": w.mine.ticket.pk, "macro_id": w.theirs.macro.pk},
            None,
        ),
    ],
    "tickets:from-conversation": _chats(),
    "tickets:request-accept": REQUEST,
    "tickets:request-answer": REQUEST,
    "tickets:request-decline": REQUEST,
    "tickets:request-withdraw": REQUEST,
    "tickets:view-rename": VIEW,
    "tickets:view-move": VIEW,
    "tickets:view-delete": VIEW,
    "desk:room": _rooms(),
    "desk:room-changes": _rooms(),
    "desk:room-read": _rooms(),
    "desk:room-members": _rooms(),
    "desk:room-leave": _rooms(),
    "desk:room-post": _rooms(),
    "desk:room-upload": _rooms(),
    "desk:room-attachment": _rooms(attachment=True),
    "desk:room-thread": _rooms(message=True),
    "desk:room-edit": _rooms(message=True),
    "desk:room-delete": _rooms(message=True),
    "desk:room-labels": _rooms(message=True),
    "desk:room-pin": _rooms(message=True),
    "desk:room-ack": _rooms(message=True),
    "desk:room-withdraw": _rooms(message=True),
}


def _cases(with_owner: bool = False) -> list:
    return [
        pytest.param(route, foreign, id=f"{route.key} [{foreign.label}]")
        for route in OBJECT_ROUTES
        for foreign in FOREIGN.get(route.key, [])
        if foreign.owner or not with_owner
    ]


# A form's fields, so that a view which did not look at who is asking would act.
FORM = {
    "body": "hello",
    "name": "renamed",
    "tags": RoomMessage.Tag.values[0],
    "priority": "1",
    "status": "closed",
    "resolution": "resolved",
    "target": "group:ours",
    "colleague": "1",
    "text": "an answer",
    "reason": "a reason",
    "direction": "up",
    "group": "ours",
    "pinned": "1",
    "up_to_seq": "100",
}


@pytest.mark.parametrize(("route", "foreign"), _cases())
def test_another_scopes_object_is_refused_to_an_agent(world, route, foreign):
    client = _client(world.me.user)
    url = route.url(**foreign.kwargs(world))
    before = _rows()

    got = client.get(url)
    posted = client.post(url, FORM)

    assert (got.status_code, posted.status_code) != (405, 405)
    assert got.status_code in (403, 404, 405)
    assert posted.status_code in (403, 404, 405)
    assert _rows() == before


@pytest.mark.parametrize(("route", "foreign"), _cases(with_owner=True))
def test_the_foreign_objects_are_there_for_their_owner(world, route, foreign):
    """The refusals above are for the asker, not for an object that is not there."""
    owner = getattr(world, foreign.owner)

    assert _client(owner.user).get(route.url(**foreign.kwargs(world))).status_code in (
        200,
        302,
        405,
    )


# --- websockets ----------------------------------------------------------------------

WEBSOCKET_ROUTES = ["/" + str(entry.pattern) for entry in websocket_urlpatterns]


def test_the_websocket_routes_are_the_chats_and_the_desks():
    """A new websocket route fails here until its refusal of strangers is tested below."""
    assert sorted(WEBSOCKET_ROUTES) == ["/ws/chat/", "/ws/desk/"]


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("path", WEBSOCKET_ROUTES)
def test_an_anonymous_websocket_is_closed_with_4401(live, path):
    """The desk socket (conversations and team rooms) without a session, the chat socket
    without a customer's token."""

    async def scenario():
        socket = await Socket.open(f"{live.ws_url}{path}", origin=live.url)
        return await socket.close_code()

    assert asyncio.run(scenario()) == 4401


# Admin pages a member of staff without any permission opens: they show nothing of the
# data (the index says there is nothing to see; the password change is their own).
STAFF_PAGES = {
    "admin:index": "'You don't have permission to view or edit anything.'",
    "admin:password_change": "their own password",
    "admin:password_change_done": "their own password",
    "admin:jsi18n": "admin's translated strings for its scripts",
}


def test_staff_without_permissions_see_no_admin_data():
    """Every admin route but STAFF_PAGES refuses (403), or sends them back to admin (a
    sample object that is not there); GET and POST."""
    staff = AgentFactory(user=UserFactory(username="staff-only", is_staff=True))
    client = _client(staff.user)
    urls = [
        route.url() for route in ADMIN if route.key not in PUBLIC and route.key not in STAFF_PAGES
    ] + ADMIN_APP_INDEXES

    answered = [
        (method.__name__, url, response.status_code)
        for url in urls
        for method in (client.get, client.post)
        if (response := method(url)).status_code not in (403, 404, 405)
        and not (response.status_code == 302 and response["Location"].startswith("/admin/"))
    ]

    assert answered == []
