"""Stored XSS (issue 10, "Attack"): every hostile payload, put into every field people
write (customer name, notes, tags; chat messages of customer and agent; internal notes;
knowledge articles' title and Markdown body; team rooms' messages; tickets' subject,
description and comments; file names; saved views and macros), is inert on every page
that shows it — the desk, the customer panel, tickets, rooms, the help centre, the
dashboards' drill-down, and every admin changelist and change form.

"Inert" is checked on the parsed page (html.parser), not by searching for strings: no
element carries an event handler or a javascript:/data: address from a payload, no
script element holds a payload, and the payload is still there as text (the page did
show the field). Every payload sets `window.__xss`; tests/e2e/test_xss.py checks in a
real browser that it never runs, including what arrives over the websocket."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from html.parser import HTMLParser

import pytest
from django.contrib import admin
from django.contrib.auth.models import Group
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from conversations.models import Conversation, InternalNote, Message
from conversations.rooms.models import Room
from conversations.rooms.services import post_message, store_room_attachment
from conversations.services.attachments import store_attachment
from customers.models import CustomerNote, CustomerTag
from knowledge.models import Category
from knowledge.services.articles import save_article
from tests.conversations.upload_helpers import PDF
from tests.factories import (
    AgentFactory,
    ConversationFactory,
    CustomerFactory,
    CustomerIdentityFactory,
    MessageFactory,
    SkillGroupFactory,
    UserFactory,
)
from tickets.models import Macro, SavedView
from tickets.services import add_comment, open_ticket

pytestmark = pytest.mark.django_db

MARKER = "__xss"

# Every payload sets window.__xss when it runs; each keeps MARKER in its visible text,
# so the page can be shown to have displayed the field (escaped) rather than dropped it.
PAYLOADS = {
    "script": "<script>window.__xss=1</script>",
    "img-onerror": "<img src=x onerror=window.__xss=1>",
    "svg-onload": "<svg onload=window.__xss=1>",
    "attr-break-double": '"><script>window.__xss=1</script>',
    "attr-break-single": "'><img src=x onerror=window.__xss=1>",
    "textarea-break": "</textarea><script>window.__xss=1</script>",
    "title-break": "</title><script>window.__xss=1</script>",
    "md-javascript-link": "[__xss](javascript:window.__xss=1)",
    "md-data-link": "[__xss](data:text/html;base64,PHNjcmlwdD53aW5kb3cuX194c3M9MTwvc2NyaXB0Pg==)",
    "md-image-javascript": "![__xss](javascript:window.__xss=1)",
    "html-javascript-link": '<a href="javascript:window.__xss=1">__xss</a>',
    "iframe-srcdoc": '<iframe srcdoc="<script>window.__xss=1</script>">__xss</iframe>',
    "template": "{{ '__xss'|upper }}{% now 'Y' %}${__xss}",
}

URL_ATTRIBUTES = {"href", "src", "action", "formaction", "xlink:href", "data", "poster", "srcdoc"}
JSON_SCRIPT_TYPES = {"application/json", "application/ld+json"}


class _Inspector(HTMLParser):
    """Walks the page as a browser would tokenise it and records what would run."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []
        self.text: list[str] = []
        self._script: dict | None = None

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            value = value or ""
            if name.startswith("on") and MARKER in value:
                self.problems.append(f"<{tag} {name}={value!r}>: an event handler from a payload")
            if name == "srcdoc" and MARKER in value:
                self.problems.append(f"<{tag} srcdoc>: a document from a payload")
            scheme = "".join(value.split()).lower()
            if name in URL_ATTRIBUTES and scheme.startswith(("javascript:", "vbscript:")):
                self.problems.append(f"<{tag} {name}={value!r}>: a script address")
            if name in URL_ATTRIBUTES and scheme.startswith("data:") and tag != "img":
                self.problems.append(f"<{tag} {name}={value!r}>: a data: address")
        if tag == "script":
            self._script = {"type": (dict(attrs).get("type") or "").lower(), "text": ""}

    def handle_endtag(self, tag):
        if tag == "script" and self._script is not None:
            script, self._script = self._script, None
            if script["type"] in JSON_SCRIPT_TYPES:
                if "<" in script["text"]:
                    self.problems.append("a JSON script element holds a raw '<'")
            elif MARKER in script["text"]:
                self.problems.append(f"a script element runs a payload: {script['text'][:80]!r}")

    def handle_data(self, data):
        if self._script is not None:
            self._script["text"] += data
        else:
            self.text.append(data)


@dataclass
class World:
    boss: object
    agent: object
    group: object
    conversation: Conversation
    customer: object
    ticket: object
    room: Room
    thread: object
    article_slug: str
    category_slug: str


def _fits(payload: str, length: int) -> str:
    """The payload in a field of `length` characters (still hostile when cut)."""
    return payload[:length]


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def build_world(payload: str) -> World:
    """Every user-written field holds `payload` (cut to the field's length)."""
    from tickets.defaults import ensure_defaults
    from tickets.models import SLAPolicy, SLATarget, TicketType

    ensure_defaults(TicketType, SLAPolicy, SLATarget)
    group = SkillGroupFactory(code="aftersales", name_zh="售后", name_en="After-sales")
    boss = AgentFactory(
        display_name=_fits(payload, 80),
        user=UserFactory(username="boss", is_staff=True, is_superuser=True),
    )
    boss.user.groups.add(Group.objects.get_or_create(name="Supervisors")[0])
    boss.skill_groups.add(group)
    agent = AgentFactory(display_name=_fits("客服 " + payload, 80))
    agent.skill_groups.add(group)

    customer = CustomerFactory(name=_fits(payload, 120), external_id="x-1", level="vip")
    CustomerIdentityFactory(customer=customer, kind="wechat", value=_fits(payload, 64))
    CustomerNote.objects.create(customer=customer, author=boss.user, body=payload)
    CustomerTag.objects.create(customer=customer, name=_fits(payload, CustomerTag.MAX_LENGTH))
    conversation = ConversationFactory(
        customer=customer,
        status=Conversation.Status.ASSIGNED,
        assignee=boss,
        skill_group=group,
        tags=[_fits(payload, 40)],
    )
    MessageFactory(conversation=conversation, seq=1, sender=Message.Sender.CUSTOMER, body=payload)
    MessageFactory(
        conversation=conversation,
        seq=2,
        sender=Message.Sender.AGENT,
        agent=boss,
        sender_name=_fits(payload, 120),
        body=payload,
    )
    InternalNote.objects.create(conversation=conversation, agent=boss, body=payload)
    chat_file = store_attachment(
        conversation_id=conversation.id,
        uploaded_by=Message.Sender.CUSTOMER,
        upload=SimpleUploadedFile(_fits(payload, 190) + ".pdf", PDF),
    )
    MessageFactory(conversation=conversation, seq=3, sender=Message.Sender.CUSTOMER, body="附件")
    chat_file.message = Message.objects.get(conversation=conversation, seq=3)
    chat_file.save(update_fields=["message"])
    Conversation.objects.filter(pk=conversation.pk).update(last_seq=3)

    category = Category.objects.create(slug="returns", name_en="Returns", name_zh="退货")
    article, *_ = save_article(
        slug="hostile",
        language="zh",
        category=category,
        title=_fits("退货 " + payload, 200),
        body=f"退货 {payload}\n\n{payload}",
        status="published",
    )

    ticket = open_ticket(
        customer=customer,
        subject=_fits(payload, 200),
        description=payload,
        type_code="repair",
        source="agent",
        skill_group=group,
        conversation=conversation,
        tags=[_fits(payload, 40)],
        assignee=boss,
    )
    add_comment(ticket_id=ticket.pk, body=payload, author=boss.user)
    add_comment(ticket_id=ticket.pk, body=payload, public=False, author=boss.user)
    add_comment(ticket_id=ticket.pk, body=payload, from_customer=True)
    SavedView.objects.create(owner=boss, name=_fits(payload, 60), filters={}, position=0)
    Macro.objects.create(name_zh=_fits(payload, 80), name_en=_fits(payload, 80), actions=[])

    room = Room.objects.get(skill_group=group)
    thread, _ = post_message(room=room, author=boss, body=payload, client_id="r1")
    post_message(room=room, author=agent, body=payload, client_id="r2", parent_id=thread.pk)
    room_file = store_room_attachment(
        room=room, by=boss, upload=SimpleUploadedFile(_fits(payload, 190) + ".pdf", PDF)
    )
    post_message(
        room=room, author=boss, body="", client_id="r3", attachment_ids=[str(room_file.pk)]
    )
    return World(
        boss=boss,
        agent=agent,
        group=group,
        conversation=conversation,
        customer=customer,
        ticket=ticket,
        room=room,
        thread=thread,
        article_slug=article.slug,
        category_slug=category.slug,
    )


# What each page's address is, given the world.
PAGES = {
    "desk-home": lambda w: reverse("desk:home"),
    "desk-lists": lambda w: reverse("desk:lists"),
    "desk-conversation": lambda w: reverse("desk:conversation", args=[w.conversation.id]),
    "desk-customer-panel": lambda w: reverse("desk:customer-panel", args=[w.conversation.id]),
    "desk-kb-search": lambda w: reverse("desk:kb") + "?q=退货",
    "desk-board": lambda w: reverse("desk:board"),
    "desk-board-live": lambda w: reverse("desk:board-live"),
    "tickets-list": lambda w: reverse("tickets:list"),
    "tickets-detail": lambda w: reverse("tickets:detail", args=[w.ticket.pk]),
    "rooms": lambda w: reverse("desk:rooms"),
    "room": lambda w: reverse("desk:room", args=[w.room.pk]),
    "room-thread": lambda w: reverse("desk:room-thread", args=[w.room.pk, w.thread.pk]),
    "room-changes": lambda w: reverse("desk:room-changes", args=[w.room.pk]) + "?after_rev=0",
    "room-search": lambda w: reverse("desk:room-search") + "?q=xss",
    "help-home": lambda w: reverse("help:home"),
    "help-category": lambda w: reverse("help:category", args=[w.category_slug]),
    "help-article": lambda w: reverse("help:article", args=[w.article_slug]),
    "help-search": lambda w: reverse("help:search") + "?q=退货",
    "analytics-drill": lambda w: reverse("analytics:drill") + "?metric=counted",
}


@pytest.fixture
def world(request, media):
    return build_world(PAYLOADS[request.param])


@pytest.mark.parametrize("world", list(PAYLOADS), indirect=True)
def test_a_payload_is_inert_on_every_desk_and_help_centre_page(client, world):
    client.force_login(world.boss.user)
    found = {}

    for page, url in PAGES.items():
        response = client.get(url(world), HTTP_ACCEPT_LANGUAGE="zh-hans")
        html = response.content.decode()
        found[page] = (response.status_code, response["Content-Type"], _problems(html))
        if MARKER not in _text(html):
            found[page][2].append("the page did not show the hostile field")

    assert {page: result for page, result in found.items() if result != CLEAN} == {}


CLEAN = (200, "text/html; charset=utf-8", [])

MARKDOWN_LINKS = [
    "[__xss](javascript:window.__xss=1)",
    "[__xss](JaVaScRiPt:window.__xss=1)",
    "[__xss](  javascript:window.__xss=1)",
    "[__xss](java&#115;cript:window.__xss=1)",
    "[__xss](data:text/html;base64,PHNjcmlwdD53aW5kb3cuX194c3M9MTwvc2NyaXB0Pg==)",
    "[__xss](vbscript:window.__xss=1)",
    "![__xss](javascript:window.__xss=1)",
    "![__xss](data:image/svg+xml,<svg onload=window.__xss=1>)",
    "[__xss][ref]\n\n[ref]: javascript:window.__xss=1",
    "<javascript:window.__xss=1>",
    '<a href="javascript:window.__xss=1">__xss</a>',
    '<a href="data:text/html,x">__xss</a>',
]


@pytest.mark.parametrize("body", MARKDOWN_LINKS)
def test_markdown_drops_javascript_and_data_links(body):
    from knowledge.markdown import render_markdown

    html = render_markdown(body)

    links = _Links()
    links.feed(html)
    assert [value for value in links.addresses if not value.startswith(("http", "mailto"))] == []
    assert _problems(html) == []


class _Links(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.addresses: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.addresses += [v or "" for name, v in attrs if name in URL_ATTRIBUTES]


@pytest.mark.parametrize("world", list(PAYLOADS), indirect=True)
def test_the_drill_down_csv_is_a_download_never_a_page(client, world):
    client.force_login(world.boss.user)

    response = client.get(reverse("analytics:drill") + "?metric=counted&export=1")

    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith("attachment")
    assert response["X-Content-Type-Options"] == "nosniff"
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert any(MARKER in cell for row in rows for cell in row)


# Admin escapes every field the same way (its templates' autoescape, format_html): the
# payloads that break out of each context it writes into (element text, a double- or
# single-quoted attribute, a textarea, a template); each round visits ~150 admin pages.
ADMIN_PAYLOADS = ["script", "attr-break-double", "attr-break-single", "textarea-break", "template"]


@pytest.mark.parametrize("world", ADMIN_PAYLOADS, indirect=True)
def test_a_payload_is_inert_in_every_admin_changelist_and_change_form(client, world):
    client.force_login(world.boss.user)
    seen = {}

    for model in admin.site._registry:
        label = model._meta.label_lower.replace(".", "_")
        urls = [reverse(f"admin:{label}_changelist")]
        first = model._default_manager.order_by("pk").first()
        if first is not None:
            urls.append(reverse(f"admin:{label}_change", args=[first.pk]))
        for url in urls:
            response = client.get(url)
            seen[url] = (response.status_code, _problems(response.content.decode()))

    assert {url: result for url, result in seen.items() if result != (200, [])} == {}
    assert any(MARKER in _text(client.get(url).content.decode()) for url in seen)


def _problems(html: str) -> list[str]:
    """What from a payload would run on the page (an admin page may show no hostile
    field at all: a model without text)."""
    inspector = _Inspector()
    inspector.feed(html)
    inspector.close()
    problems = list(inspector.problems)
    if "<script>window.__xss" in html:
        problems.append("a payload raw in the page")
    if "__XSS" in html:
        problems.append("a template tag in a field was evaluated")
    return problems


def _text(html: str) -> str:
    inspector = _Inspector()
    inspector.feed(html)
    inspector.close()
    return "".join(inspector.text)
