"""factory-boy factories for the domain objects."""

import factory
from django.contrib.auth import get_user_model

from conversations.demo import DEMO_PASSWORD
from conversations.models import Agent, Conversation, Message, SkillGroup
from customers.models import Customer


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
