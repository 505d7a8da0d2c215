"""The plain records the engine reads and writes (no Django, JSON-friendly)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

# Customer levels put through to a person at once when they ask for one
# (customers.Customer.Level: normal, silver, gold, vip).
VIP_LEVELS = frozenset({"vip", "svip"})


@dataclass
class ArticleRecord:
    """One knowledge-base article in one language (the same slug in both is one topic)."""

    slug: str
    language: str
    title: str
    body: str
    category: str = ""
    questions: list[str] = field(default_factory=list)


@dataclass
class IntentRecord:
    """An intent as in ``intents.json``."""

    name: str
    description: str = ""
    examples_zh: list[str] = field(default_factory=list)
    examples_en: list[str] = field(default_factory=list)
    slots: list[dict] = field(default_factory=list)
    slot_rule: str | None = None

    def examples(self, language: str) -> list[str]:
        return self.examples_zh if language == "zh" else self.examples_en


@dataclass
class Context:
    """What the chat keeps between two messages of one conversation.

    Store ``decision.next_context.to_dict()`` after each bot turn and pass
    ``Context.from_dict(stored)`` with the next message; set
    ``customer_level`` from the customer record each time.
    """

    pending_intent: str | None = None
    pending_slots: dict = field(default_factory=dict)
    missing_slot: str | None = None
    fallbacks_in_a_row: int = 0
    customer_level: str = "normal"
    language: str | None = None  # of the last message: for replies that carry no words ("LM…")

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict | None) -> Context:
        data = data or {}
        return cls(
            pending_intent=data.get("pending_intent"),
            pending_slots=dict(data.get("pending_slots") or {}),
            missing_slot=data.get("missing_slot"),
            fallbacks_in_a_row=int(data.get("fallbacks_in_a_row") or 0),
            customer_level=str(data.get("customer_level") or "normal"),
            language=data.get("language"),
        )

    @property
    def is_vip(self) -> bool:
        return self.customer_level.strip().lower() in VIP_LEVELS


@dataclass
class Decision:
    """What the bot does with one message, and why."""

    action: str  # answer | ask_slot | self_service | fallback | handoff
    intent: str | None = None
    article: str | None = None  # slug
    confidence: float = 0.0  # calibrated, 0..1
    slots: dict = field(default_factory=dict)
    handoff_reason: str | None = None  # request | emotion | fallbacks | vip
    suggestions: list[str] = field(default_factory=list)  # closest article slugs
    scores: dict = field(default_factory=dict)  # the "why", for the admin
    missing_slot: str | None = None  # with ask_slot
    prompt: str | None = None  # the slot question from intents.json, in ``language``
    language: str = "zh"  # the language the message was understood in
    next_context: Context = field(default_factory=Context)  # to store for the next message

    def to_meta(self) -> dict:
        """The ``meta`` object of a bot message in the chat protocol."""
        return {
            "action": self.action,
            "intent": self.intent,
            "article": self.article,
            "confidence": round(self.confidence, 3),
            "slots": dict(self.slots),
        }
