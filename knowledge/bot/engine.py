"""The bot's language understanding: one message in, one ``Decision`` out.

How a message is decided, in order of precedence
------------------------------------------------

1. **Manipulation** (prompt injection, "developer mode", demands for a 100 %
   coupon or free upgrades) is out of scope: a fallback, never an intent action
   or an article. The bot grants nothing the knowledge base does not say.
2. **Handoff**: a VIP customer who asks for a person in any way (reason
   ``vip``); an upset customer (reason ``emotion``: anger, distress, threats to
   complain to 12315 / a consumer association / a lawyer, repeated-failure
   frustration); an explicit, calm request for a person (reason ``request``),
   found by patterns or by the model's ``human_agent`` intent. A question
   *about* agents ("when are human agents online?") is an article.
3. **A pending slot**: when the previous turn asked for a slot, a message that
   carries it (just "LM20261103", or "坏了" for the reason) completes the
   pending intent, unless it is plainly another request.
4. **Intent or article**: the retriever's candidate articles, the intents the
   message asks for (``Scorer.eligible``: an intent's request wording or an
   identifier it takes) and a "none of these" row are scored by one linear
   model and a softmax (``scoring.MODEL``). An order or tracking number makes
   the message about that order: the best intent taking it wins unless a
   confident article does and nothing asks about the order. Otherwise intents
   are about the customer's own order or the conversation; "how does X work"
   is an article (intents.json's descriptions).
5. **Fallback** when the confidence is below ``THRESHOLDS``, with the closest
   articles as ``suggestions``. A miss when two fallbacks in a row are already
   in the context is handed off with reason ``fallbacks``.

Confidence
----------

``confidence`` is the probability that the chosen label is right, from a small
logistic model (``MODEL["confidence"]``) over: the label's softmax
probability (log-odds), its margin over the runner-up and over "none", the
share of the message made of words the material never uses, how much of the
message the label accounts for, and how many words the message has. It is
fitted on questions the ranking model did not see as such (left-out knowledge
base questions, the tune half of dev, written paraphrases and out-of-scope
messages; ``calibration.py``). The engine acts when that probability is at
least 0.5: with a wrong answer costing twice a fallback, acting pays exactly
when a right answer is more likely than a wrong one. Handoffs and slot
answers found by rules carry fixed confidences (1.0, 0.9).
"""

from __future__ import annotations

from collections.abc import Sequence

from . import lexicon
from .index import Analysis
from .records import ArticleRecord, Context, Decision, IntentRecord
from .scoring import HANDOFF_INTENT, PreparedIntent, Retriever, Scorer
from .text import detect_language, normalize, words

__all__ = ["ArticleRecord", "Context", "Decision", "Engine", "IntentRecord", "THRESHOLDS"]

SMALL_TALK = frozenset({"greeting", "thanks_goodbye"})
MAX_FALLBACKS = 2  # fallbacks in a row after which the next miss is handed off

# Calibrated confidence needed to act: 1 / (cost of a wrong answer in fallbacks),
# see calibration.choose_thresholds.
THRESHOLDS: dict[str, float] = {"article": 0.5, "intent": 0.5}


class Engine:
    """Understands customer messages; build once, then ``decide`` per message."""

    def __init__(self, scorer: Scorer) -> None:
        self.scorer = scorer
        self.thresholds = dict(THRESHOLDS)

    @classmethod
    def build(
        cls,
        articles: Sequence[ArticleRecord],
        intents: Sequence[IntentRecord],
        *,
        retriever: Retriever | None = None,
    ) -> Engine:
        """Prepare the material once (about a second, most of it loading jieba).

        ``articles`` give the corpus statistics and, without a ``retriever``,
        the articles to answer from. With a retriever (PostgreSQL full-text
        search at scale) the engine reranks whatever records it returns;
        records it has not seen are prepared on first use and cached.
        """
        return cls(Scorer.build(articles, intents, retriever=retriever))

    @property
    def intents(self) -> dict[str, PreparedIntent]:
        return self.scorer.intents

    @property
    def model(self) -> dict:
        return self.scorer.model

    @model.setter
    def model(self, value: dict) -> None:
        self.scorer.model = value

    def score(self, text: str, language: str, **options):
        """Ranked labels with features (see ``Scorer.score``), for the admin and calibration."""
        return self.scorer.score(text, language, **options)

    def confidence(self, rows: list[dict], cues: dict, index: int = 0) -> float:
        return self.scorer.confidence(rows, cues, index)

    # Deciding ------------------------------------------------------------------------

    def decide(
        self, text: str, *, language: str | None = None, context: Context | None = None
    ) -> Decision:
        """Decide what to do with one customer message.

        ``language`` is the conversation's language; the message's own script
        wins when it has words (a Chinese-UI customer typing English is
        matched against English material). ``context`` is the state returned
        in the previous decision's ``next_context``; it is not modified.
        """
        context = context or Context()
        normalized = normalize(text)
        language = self._language(normalized, language or context.language)
        decision = self._decide(text, normalized, language, context)
        decision.language = language
        return self._finish(decision, context)

    def _language(self, normalized: str, hint: str | None) -> str:
        masked = lexicon.TRACKING_NUMBER_RE.sub(" ", lexicon.ORDER_NUMBER_RE.sub(" ", normalized))
        if any(not w.isdigit() for w in words(masked)):
            return detect_language(masked)
        return hint if hint in ("zh", "en") else "zh"

    def _decide(self, text: str, normalized: str, language: str, context: Context) -> Decision:
        if lexicon.INJECTION.search(normalized):
            return Decision(action="fallback", confidence=0.0, scores={"rule": "out_of_scope"})

        handoff = self._handoff(text, normalized, context)
        rows, query, cues = self.score(text, language)
        top = rows[0] if rows else None
        confidence = self.confidence(rows, cues) if top else 0.0
        why = self._why(rows, query, cues)

        if handoff is None and top and top["label"] == HANDOFF_INTENT:
            if confidence >= self.thresholds["intent"] and not lexicon.AGENT_AVAILABILITY.search(
                normalized
            ):
                handoff = "vip" if context.is_vip else "request"
        if handoff:
            return Decision(
                action="handoff",
                intent=HANDOFF_INTENT if handoff in ("request", "vip") else None,
                handoff_reason=handoff,
                confidence=1.0
                if top is None or top["label"] != HANDOFF_INTENT
                else max(confidence, 0.9),
                scores={**why, "rule": f"handoff:{handoff}"},
            )

        # Not handed off: "human_agent" was only a question about agents.
        rows = [dict(row) for row in rows if row["label"] != HANDOFF_INTENT]
        if rows:
            total = sum(row["p"] for row in rows)
            for row in rows:
                row["p"] /= total
            confidence = self.confidence(rows, cues)

        if context.pending_intent in self.intents:
            pending = self._continue_pending(normalized, language, context, rows, confidence, why)
            if pending is not None:
                return pending

        if not rows:
            return self._identifier_only(normalized, language, cues, why)
        return self._choose(normalized, language, rows, cues, confidence, why, context)

    # Rules ---------------------------------------------------------------------------

    def _handoff(self, text: str, normalized: str, context: Context) -> str | None:
        availability = bool(lexicon.AGENT_AVAILABILITY.search(normalized))
        requested = bool(lexicon.HANDOFF_REQUEST.search(normalized)) and not availability
        if context.is_vip and (
            requested or (lexicon.PERSON_MENTION.search(normalized) and not availability)
        ):
            return "vip"
        if lexicon.emotion_score(normalized, text) >= lexicon.EMOTION_THRESHOLD:
            return "emotion"
        if requested:
            return "request"
        return None

    def extract_slots(self, intent: PreparedIntent, normalized: str, *, answering: str | None):
        """Slot values found in the message for ``intent``; ``answering`` is the
        slot the bot just asked for, which allows a bare value ("20261103")."""
        found: dict[str, str] = {}
        for name in intent.slot_names:
            pattern = intent.slot_patterns.get(name)
            if name == "order_number":
                match = lexicon.ORDER_NUMBER_RE.search(normalized)
                if match:
                    found[name] = "LM" + match.group(1)
                elif answering in ("order_number",):
                    bare = lexicon.BARE_ORDER_DIGITS_RE.search(normalized)
                    if bare and not lexicon.TRACKING_NUMBER_RE.search(normalized):
                        found[name] = "LM" + bare.group(1)
            elif name == "tracking_number":
                match = lexicon.TRACKING_NUMBER_RE.search(normalized)
                if match:
                    found[name] = "SF" + match.group(1)
            elif name == "reason":
                reason = lexicon.reason_in(normalized)
                if reason:
                    found[name] = reason
            elif pattern is not None:
                match = pattern.search(normalized)
                if match:
                    found[name] = match.group(0).upper()
        return found

    def _slot_decision(
        self, intent: PreparedIntent, slots: dict, language: str, confidence: float, why: dict
    ) -> Decision:
        slots = {k: v for k, v in slots.items() if k in intent.slot_names}
        for group in intent.required:
            if not any(slots.get(name) for name in group):
                missing = group[0]
                return Decision(
                    action="ask_slot",
                    intent=intent.record.name,
                    confidence=confidence,
                    slots=slots,
                    missing_slot=missing,
                    prompt=self._prompt(intent, missing, language),
                    scores=why,
                )
        return Decision(
            action="self_service",
            intent=intent.record.name,
            confidence=confidence,
            slots=slots,
            scores=why,
        )

    @staticmethod
    def _prompt(intent: PreparedIntent, slot_name: str, language: str) -> str | None:
        for slot in intent.record.slots:
            if slot["name"] == slot_name:
                return slot.get(f"prompt_{language}") or slot.get("prompt_en")
        return None

    def _continue_pending(
        self,
        normalized: str,
        language: str,
        context: Context,
        rows: list[dict],
        confidence: float,
        why: dict,
    ) -> Decision | None:
        intent = self.intents[context.pending_intent]
        found = self.extract_slots(intent, normalized, answering=context.missing_slot)
        top = rows[0] if rows else None
        # A slot value answers the question just asked, unless the message is
        # plainly another request ("LM20261103 到哪了" while asked for a reason);
        # an article never overrides it ("坏了，保修吗" still gives the reason).
        confident_other = (
            top is not None
            and top["kind"] == "intent"
            and top["label"] != intent.record.name
            and top["label"] not in SMALL_TALK
            and top["features"].get("cue")
            and self._acts(top, confidence)
        )
        if found and not confident_other:
            slots = {**context.pending_slots, **found}
            return self._slot_decision(intent, slots, language, max(confidence, 0.9), why)
        if top is not None and self._acts(top, confidence):
            if top["label"] == intent.record.name:
                slots = {**context.pending_slots, **found}
                return self._slot_decision(intent, slots, language, confidence, why)
            return None  # something else entirely: decide afresh
        if context.missing_slot == "reason" and normalized.strip():
            slots = {**context.pending_slots, "reason": "other"}
            return self._slot_decision(intent, slots, language, 0.6, why)
        # Not understood: ask again (counted as a miss, see _finish).
        decision = self._slot_decision(intent, dict(context.pending_slots), language, 0.0, why)
        decision.scores = {**why, "rule": "slot_not_understood"}
        return decision

    def _acts(self, row: dict, confidence: float) -> bool:
        return confidence >= self.thresholds["article" if row["kind"] == "article" else "intent"]

    def _identifier_only(self, normalized: str, language: str, cues: dict, why: dict) -> Decision:
        """Just an order or tracking number: look the order (or parcel) up."""
        name = "logistics_tracking" if cues["tracking_number"] else "order_status"
        if cues["identifier"] and name in self.intents:
            intent = self.intents[name]
            slots = self.extract_slots(intent, normalized, answering=None)
            return self._slot_decision(intent, slots, language, 0.6, why)
        return Decision(action="fallback", scores=why)

    def _choose(
        self,
        normalized: str,
        language: str,
        rows: list[dict],
        cues: dict,
        confidence: float,
        why: dict,
        context: Context,
    ) -> Decision:
        top = rows[0]
        suggestions = self._suggestions(rows)
        if cues["identifier"]:
            chosen = self._for_identifier(rows, cues, confidence)
            if chosen is not None:
                row, row_confidence = chosen
                return self._intent_decision(row, normalized, language, row_confidence, why)
        if not self._acts(top, confidence):
            return Decision(
                action="fallback", confidence=confidence, suggestions=suggestions, scores=why
            )
        if top["kind"] == "article":
            return Decision(
                action="answer",
                article=top["label"],
                confidence=confidence,
                suggestions=[s for s in suggestions if s != top["label"]],
                scores=why,
            )
        return self._intent_decision(top, normalized, language, confidence, why)

    def _for_identifier(
        self, rows: list[dict], cues: dict, confidence: float
    ) -> tuple[dict, float] | None:
        """An order or tracking number makes the message about that order: the
        best intent that takes the number, unless a confident article wins and
        nothing in the message asks about the order itself."""
        takers = [r for r in rows if r["kind"] == "intent" and r["features"].get("ident_match")]
        if not takers:
            return None
        top = rows[0]
        if (
            top["kind"] == "article"
            and self._acts(top, confidence)
            and not any(r["features"].get("cue") for r in takers)
        ):
            return None
        # Among the intents that take the number, how sure is the choice?
        total = sum(r["p"] for r in takers)
        ranked = [{**r, "p": r["p"] / total} for r in takers]
        return takers[0], self.confidence(ranked, cues)

    def _intent_decision(
        self, row: dict, normalized: str, language: str, confidence: float, why: dict
    ) -> Decision:
        intent = self.intents[row["label"]]
        if not intent.slot_names:
            return Decision(
                action="self_service", intent=intent.record.name, confidence=confidence, scores=why
            )
        slots = self.extract_slots(intent, normalized, answering=None)
        return self._slot_decision(intent, slots, language, confidence, why)

    @staticmethod
    def _suggestions(rows: list[dict], limit: int = 3) -> list[str]:
        return [row["label"] for row in rows if row["kind"] == "article"][:limit]

    @staticmethod
    def _why(rows: list[dict], query: Analysis, cues: dict) -> dict:
        """The "why" for the admin's "Ask the bot" box (JSON-serialisable)."""
        return {
            "query": query.text,
            "terms": sorted(query.words),
            "cues": {
                k: sorted(v) if isinstance(v, set) else (round(v, 3) if isinstance(v, float) else v)
                for k, v in cues.items()
                if v
            },
            "candidates": [
                {
                    "kind": row["kind"],
                    "label": row["label"],
                    "p": round(row["p"], 4),
                    "features": {k: round(v, 3) for k, v in row["features"].items() if v},
                }
                for row in rows[:5]
            ],
        }

    def _finish(self, decision: Decision, context: Context) -> Decision:
        missed = decision.action == "fallback" or decision.scores.get("rule") == (
            "slot_not_understood"
        )
        if missed and context.fallbacks_in_a_row >= MAX_FALLBACKS:
            decision = Decision(
                action="handoff",
                handoff_reason="fallbacks",
                confidence=1.0,
                suggestions=decision.suggestions,
                scores={**decision.scores, "rule": "handoff:fallbacks"},
                language=decision.language,
            )
            missed = False
        following = Context(customer_level=context.customer_level, language=decision.language)
        if missed:
            following.fallbacks_in_a_row = context.fallbacks_in_a_row + 1
            if decision.action == "ask_slot":
                following.pending_intent = decision.intent
                following.pending_slots = dict(decision.slots)
                following.missing_slot = decision.missing_slot
        elif decision.action == "ask_slot":
            following.pending_intent = decision.intent
            following.pending_slots = dict(decision.slots)
            following.missing_slot = decision.missing_slot
        decision.next_context = following
        return decision
