"""The bot's language understanding: pure Python, no Django, no database.

``Engine.build(articles, intents)`` once per process (or whenever the
knowledge base changes), then ``engine.decide(text, language=..., context=...)``
per customer message. See ``engine`` for the decision rules and how the
confidence is calibrated, ``evaluate`` for the quality figures.
"""

from .engine import ArticleRecord, Context, Decision, Engine, IntentRecord

__all__ = ["ArticleRecord", "Context", "Decision", "Engine", "IntentRecord"]
