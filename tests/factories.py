"""factory-boy factories for the domain objects."""

from datetime import timedelta

import factory
from django.contrib.auth import get_user_model
from django.core.files.base import ContentFile
from django.utils import timezone

from conversations.demo import DEMO_PASSWORD
from conversations.models import Agent, Attachment, Conversation, Message, SkillGroup, Survey
from customers.models import (
    AfterSalesRequest,
    CareCampaign,
    Customer,
    CustomerIdentity,
    CustomerNote,
    CustomerTag,
    Order,
    TagRule,
)


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ["username"]
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    password = factory.django.Password(DEMO_PASSWORD)


class SkillGroupFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SkillGroup
        django_get_or_create = ["code"]

    code = factory.Sequence(lambda n: f"group{n}")
    name_zh = factory.Sequence(lambda n: f"小组{n}")
    name_en = factory.Sequence(lambda n: f"Group {n}")


class AgentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Agent

    user = factory.SubFactory(UserFactory)
    display_name = factory.Sequence(lambda n: f"客服{n} Agent {n}")
    status = Agent.Status.ONLINE


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Customer

    name = factory.Sequence(lambda n: f"顾客{n}")
    language = "zh"


class ConversationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Conversation

    customer = factory.SubFactory(CustomerFactory)
    channel = Conversation.Channel.WEB
    status = Conversation.Status.BOT


class MessageFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Message

    conversation = factory.SubFactory(ConversationFactory)
    seq = factory.Sequence(lambda n: n + 1)
    sender = Message.Sender.CUSTOMER
    body = factory.Faker("sentence")


class AttachmentFactory(factory.django.DjangoModelFactory):
    """A stored file (in MEDIA_ROOT: point it at a temporary folder)."""

    class Meta:
        model = Attachment

    conversation = factory.SubFactory(ConversationFactory)
    uploaded_by = Message.Sender.CUSTOMER
    name = "receipt.png"
    content_type = "image/png"
    extension = ".png"
    size = 4
    file = factory.LazyFunction(lambda: ContentFile(b"\x89PNG", name="upload.png"))


class SurveyFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Survey

    conversation = factory.SubFactory(ConversationFactory, status=Conversation.Status.CLOSED)
    customer = factory.SelfAttribute("conversation.customer")
    delivered_in = factory.SelfAttribute("conversation")
    question = "请为刚才的服务打分（1–5）。"


class CustomerIdentityFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CustomerIdentity

    customer = factory.SubFactory(CustomerFactory)
    kind = CustomerIdentity.Kind.EMAIL
    value = factory.Sequence(lambda n: f"person{n}@example.com")


class OrderFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Order

    number = factory.Sequence(lambda n: f"LM{n:08d}")
    customer = factory.SubFactory(CustomerFactory)
    status = Order.Status.DELIVERED
    total = "100.00"
    placed_at = factory.Sequence(lambda n: timezone.now() - timedelta(days=1000 - n))


class AfterSalesRequestFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = AfterSalesRequest

    number = factory.Sequence(lambda n: f"AS{n:06d}")
    order = factory.SubFactory(OrderFactory)
    customer = factory.SelfAttribute("order.customer")
    kind = AfterSalesRequest.Kind.RETURN
    reason = "damaged"


class CustomerNoteFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CustomerNote

    customer = factory.SubFactory(CustomerFactory)
    author = factory.SubFactory(UserFactory)
    body = factory.Sequence(lambda n: f"note {n}")


class TagRuleFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TagRule

    name_zh = factory.Sequence(lambda n: f"自动标签{n}")
    name_en = factory.Sequence(lambda n: f"auto tag {n}")
    kind = TagRule.Kind.SPEND
    threshold = 1000


class CustomerTagFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CustomerTag

    customer = factory.SubFactory(CustomerFactory)
    name = factory.Sequence(lambda n: f"tag{n}")
    source = CustomerTag.Source.MANUAL
    # An automatic tag belongs to a rule (a manual one to nobody).
    rule = factory.Maybe(
        factory.LazyAttribute(lambda tag: tag.source == CustomerTag.Source.AUTO),
        yes_declaration=factory.SubFactory(TagRuleFactory),
        no_declaration=None,
    )


CARE_TEXTS = {
    CareCampaign.Kind.SURVEY: (
        "{name}，请为刚才的服务打分（1–5）。",
        "{name}, please rate our help (1–5).",
    ),
    CareCampaign.Kind.BIRTHDAY: (
        "{name}，生日快乐！优惠券 {coupon}（{amount} 元）。",
        "Happy birthday, {name}! Coupon {coupon} ({amount} off).",
    ),
    CareCampaign.Kind.ORDER_SHIPPED: (
        "订单 {order} 已由 {carrier} 发出，运单号 {tracking}。",
        "Order {order} has shipped with {carrier}, tracking {tracking}.",
    ),
    CareCampaign.Kind.ORDER_DELIVERED: ("订单 {order} 已送达。", "Order {order} was delivered."),
    CareCampaign.Kind.FOLLOW_UP: ("{name}，问题解决了吗？", "{name}, is it settled now?"),
    CareCampaign.Kind.LEVEL_UP: (
        "{name}升级为{level}：{benefits}",
        "{name} is {level}: {benefits}",
    ),
}


CARE_TEXTS.update(
    {
        CareCampaign.Kind.TICKET_FOLLOW_UP: (
            "{name}，工单 {ticket} 仍在处理中。",
            "{name}, ticket {ticket} is still being worked on.",
        ),
        CareCampaign.Kind.VIP_REVISIT: ("回访 {name}。", "Check in with {name}."),
    }
)

CARE_SUBJECTS = {
    CareCampaign.Kind.SURVEY: ("请评价", "Rate us"),
    CareCampaign.Kind.BIRTHDAY: ("{name}，生日快乐", "Happy birthday, {name}"),
    CareCampaign.Kind.ORDER_SHIPPED: ("订单 {order} 已发货", "Order {order} shipped"),
    CareCampaign.Kind.ORDER_DELIVERED: ("订单 {order} 已送达", "Order {order} delivered"),
    CareCampaign.Kind.FOLLOW_UP: ("问题解决了吗", "Is it settled?"),
    CareCampaign.Kind.LEVEL_UP: ("升级为{level}", "Now {level}"),
    CareCampaign.Kind.TICKET_FOLLOW_UP: ("工单 {ticket} 的进展", "Ticket {ticket}: an update"),
    CareCampaign.Kind.VIP_REVISIT: ("VIP 回访：{name}", "VIP check-in: {name}"),
}


def care_campaign(kind: str, **fields) -> CareCampaign:
    """A care campaign as a test needs it (transactional tests empty the migration's)."""
    text_zh, text_en = CARE_TEXTS[kind]
    subject_zh, subject_en = CARE_SUBJECTS[kind]
    defaults = {
        "text_zh": text_zh,
        "text_en": text_en,
        "subject_zh": subject_zh,
        "subject_en": subject_en,
        "delay_minutes": 0,
        **fields,
    }
    campaign, _ = CareCampaign.objects.update_or_create(kind=kind, defaults=defaults)
    return campaign
