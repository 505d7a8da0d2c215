"""The vocabulary of ticket automation: what a rule may test (conditions) and what a rule
or a macro may do (actions), as admin writes them in JSON.

`parse_conditions` and `parse_actions` turn the JSON into frozen objects or raise
DefinitionError with every mistake in people's words ("Condition 2: unknown field
'colour'."); `definition_errors` adds the names that must exist (types, groups,
agents) and is what admin's clean() shows. Testing a condition is pure: it reads
the ticket it is given and nothing else. The actions are carried out by
tickets/services/automation.py.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Q
from django.utils.translation import gettext as _

from customers.models import Customer
from tickets import sla
from tickets.models import AutomationRule, Priority, Ticket

MAX_ITEMS = 20
MAX_TEXT = 10_000
MAX_TAG = 40

CHOICE_OPS = ("is", "is_not", "in", "not_in")
ORDER_OPS = ("gt", "gte", "lt", "lte")
TEXT_OPS = ("contains", "not_contains")

PRIORITY_NAMES = {
    "low": Priority.LOW,
    "normal": Priority.NORMAL,
    "high": Priority.HIGH,
    "urgent": Priority.URGENT,
}

# What "changed" may name: the fields change_ticket edits and the three kinds of comment.
CHANGES = (
    "subject",
    "status",
    "priority",
    "type",
    "skill_group",
    "assignee",
    "tags",
    "customer_reply",
    "public_reply",
    "internal_note",
)

# field → the operators it takes
CONDITION_FIELDS: dict[str, tuple[str, ...]] = {
    "status": CHOICE_OPS,
    "priority": CHOICE_OPS + ORDER_OPS,
    "type": CHOICE_OPS,
    "skill_group": CHOICE_OPS,
    "customer_level": CHOICE_OPS,
    "source": CHOICE_OPS,
    "tags": TEXT_OPS,
    "subject": TEXT_OPS,
    "description": TEXT_OPS,
    "text": TEXT_OPS,
    "hours_since_created": ORDER_OPS,
    "hours_since_updated": ORDER_OPS,
    "hours_pending": ORDER_OPS,
    "assigned": ("is",),
    "replied": ("is",),
    "changed": TEXT_OPS,
}
HOURS_FIELDS = ("hours_since_created", "hours_since_updated", "hours_pending")

SET_FIELDS = ("status", "priority", "type", "skill_group", "assignee")
ACTION_KEYS: dict[str, frozenset[str]] = {
    "set": frozenset({"field", "value"}),
    "add_tag": frozenset({"value"}),
    "remove_tag": frozenset({"value"}),
    "reply": frozenset({"zh", "en"}),
    "note": frozenset({"zh", "en"}),
    "notify": frozenset({"to", "zh", "en"}),
    "webhook": frozenset(),
    "refund_status": frozenset(),
}
NOTIFY_TARGETS = ("assignee", "group", "supervisors")
PLACEHOLDERS = ("number", "customer", "subject", "status", "priority", "type", "group", "assignee")
PLACEHOLDER = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)\}")
BRACED = re.compile(r"\{([^{}\s]*)\}")  # what an admin may have meant as a placeholder


class DefinitionError(ValueError):
    """A rule or macro definition that cannot be carried out; `messages` says why."""

    def __init__(self, messages: list[str]):
        super().__init__(" ".join(messages))
        self.messages = messages


# --- conditions ---------------------------------------------------------------------


@dataclass(frozen=True)
class Facts:
    """What a condition is tested against: the ticket as it is now, what just changed
    (for rules on updates), the time, and the ticket's business-hours calendar (read
    only when a condition counts business hours)."""

    ticket: Ticket
    now: datetime
    changed: frozenset[str] = frozenset()
    calendar: Callable[[], sla.Calendar | None] = lambda: None


@dataclass(frozen=True)
class Condition:
    field: str
    op: str
    value: Any
    business: bool = False

    def holds(self, facts: Facts) -> bool:
        actual = self._actual(facts)
        if self.op in TEXT_OPS:
            found = any(self._contains(actual, wanted) for wanted in self.value)
            return found if self.op == "contains" else not found
        if self.op in ORDER_OPS:
            if actual is None:
                return False
            return {
                "gt": actual > self.value,
                "gte": actual >= self.value,
                "lt": actual < self.value,
                "lte": actual <= self.value,
            }[self.op]
        if self.op == "is":
            return actual == self.value
        if self.op == "is_not":
            return actual != self.value
        if self.op == "in":
            return actual in self.value
        return actual not in self.value

    def narrowing(self, now: datetime) -> Q | None:
        """A filter every ticket that satisfies this condition passes (time-based rules
        look only at those); None when the database cannot say. Business hours are never
        more than wall-clock hours, so "at least N business hours" narrows to "at least N
        hours" and the exact test is left to holds()."""
        lookup = {
            "status": "status",
            "priority": "priority",
            "type": "type__code",
            "skill_group": "skill_group__code",
            "customer_level": "customer__level",
            "source": "source",
        }.get(self.field)
        if lookup and self.op in CHOICE_OPS:
            values = self.value if self.op in ("in", "not_in") else [self.value]
            if self.field == "skill_group" and "" in values:
                match = Q(skill_group__isnull=True) | Q(skill_group__code__in=values)
            else:
                match = Q(**{f"{lookup}__in": values})
            return match if self.op in ("is", "in") else ~match
        if self.field == "priority" and self.op in ORDER_OPS:
            return Q(**{f"priority__{self.op}": self.value})
        if self.field in HOURS_FIELDS and self.op in ("gt", "gte"):
            since = now - timedelta(hours=self.value)
            column = {
                "hours_since_created": "created_at",
                "hours_since_updated": "updated_at",
                "hours_pending": "sla_paused_at",
            }[self.field]
            return Q(**{f"{column}__lte": since})
        if self.field == "assigned":
            return Q(assignee__isnull=not self.value)
        if self.field == "replied":
            return Q(first_responded_at__isnull=not self.value)
        return None

    def _actual(self, facts: Facts) -> Any:
        ticket = facts.ticket
        match self.field:
            case "type":
                return ticket.type.code
            case "skill_group":
                return ticket.skill_group.code if ticket.skill_group_id else ""
            case "customer_level":
                return ticket.customer.level
            case "tags":
                return [tag.casefold() for tag in ticket.tags]
            case "text":
                return f"{ticket.subject}\n{ticket.description}"
            case "hours_since_created":
                return self._hours(ticket.created_at, facts)
            case "hours_since_updated":
                return self._hours(ticket.updated_at, facts)
            case "hours_pending":
                waiting = ticket.status == Ticket.Status.PENDING_CUSTOMER
                return self._hours(ticket.sla_paused_at, facts) if waiting else None
            case "assigned":
                return ticket.assignee_id is not None
            case "replied":
                return ticket.first_responded_at is not None
            case "changed":
                return facts.changed
        return getattr(ticket, self.field)

    def _hours(self, since: datetime | None, facts: Facts) -> float | None:
        if since is None:
            return None
        calendar = facts.calendar() if self.business else None
        return sla.business_seconds_between(since, facts.now, calendar) / 3600

    @staticmethod
    def _contains(actual: Any, wanted: str) -> bool:
        if isinstance(actual, str):
            return wanted.casefold() in actual.casefold()
        return wanted.casefold() in actual  # tags (already casefolded), changes


def parse_conditions(data: Any, *, trigger: str = "") -> list[Condition]:
    """The conditions of a rule, checked; DefinitionError lists every mistake."""
    errors: list[str] = []
    if not isinstance(data, list):
        raise DefinitionError([_("Conditions must be a list ([] for none).")])
    if len(data) > MAX_ITEMS:
        errors.append(_("At most %(n)d conditions.") % {"n": MAX_ITEMS})
    conditions = []
    for number, item in enumerate(data[:MAX_ITEMS], start=1):
        try:
            conditions.append(_condition(item, trigger=trigger))
        except DefinitionError as error:
            prefix = _("Condition %(n)d:") % {"n": number}
            errors += [f"{prefix} {message}" for message in error.messages]
    if trigger == AutomationRule.Trigger.TIME and not errors:
        if not any(c.field in HOURS_FIELDS and c.op in ("gt", "gte") for c in conditions):
            errors.append(
                _(
                    "A time-based rule needs a condition on how long the ticket has waited "
                    "(hours_since_created, hours_since_updated or hours_pending, gt or gte)."
                )
            )
    if errors:
        raise DefinitionError(errors)
    return conditions


def _condition(item: Any, *, trigger: str) -> Condition:
    if not isinstance(item, dict):
        raise DefinitionError([_('must be an object such as {"field": …, "op": …, "value": …}.')])
    name, op = item.get("field"), item.get("op")
    if name not in CONDITION_FIELDS:
        raise DefinitionError(
            [
                _("unknown field %(field)s (one of: %(fields)s).")
                % {"field": _shown(name), "fields": ", ".join(CONDITION_FIELDS)}
            ]
        )
    allowed_keys = {"field", "op", "value"} | ({"business"} if name in HOURS_FIELDS else set())
    unknown = set(item) - allowed_keys
    if unknown:
        raise DefinitionError(
            [_("unknown key %(keys)s.") % {"keys": ", ".join(sorted(map(str, unknown)))}]
        )
    if op not in CONDITION_FIELDS[name]:
        raise DefinitionError(
            [
                _("%(field)s takes the operators %(ops)s, not %(op)s.")
                % {"field": name, "ops": ", ".join(CONDITION_FIELDS[name]), "op": _shown(op)}
            ]
        )
    if name == "changed" and trigger != AutomationRule.Trigger.UPDATED:
        raise DefinitionError([_('"changed" only means something for rules on updates.')])
    business = item.get("business", False)
    if not isinstance(business, bool):
        raise DefinitionError([_('"business" must be true or false.')])
    return Condition(name, op, _condition_value(name, op, item.get("value")), business)


def _condition_value(name: str, op: str, value: Any) -> Any:
    if op in TEXT_OPS:
        values = value if isinstance(value, list) else [value]
        if not values or not all(isinstance(v, str) and v.strip() for v in values):
            raise DefinitionError([_("the value must be a text or a list of texts.")])
        if name == "changed":
            wrong = [v for v in values if v not in CHANGES]
            if wrong:
                raise DefinitionError(
                    [
                        _("%(value)s is not something that changes (one of: %(names)s).")
                        % {"value": ", ".join(wrong), "names": ", ".join(CHANGES)}
                    ]
                )
        return tuple(v.strip() for v in values)
    if name in ("assigned", "replied"):
        if not isinstance(value, bool):
            raise DefinitionError([_("the value must be true or false.")])
        return value
    if name in HOURS_FIELDS:
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value <= 10**5:
            raise DefinitionError([_("the value must be a number of hours (0 or more).")])
        return value
    if op in ("in", "not_in"):
        if not isinstance(value, list) or not value:
            raise DefinitionError([_("%(op)s takes a list of values.") % {"op": op}])
        return tuple(_choice(name, v) for v in value)
    return _choice(name, value)


def _choice(name: str, value: Any) -> Any:
    """One value of a choice field, as the ticket stores it."""
    if name == "priority":
        return _priority(value)
    valid = {
        "status": Ticket.Status.values,
        "source": Ticket.Source.values,
        "customer_level": Customer.Level.values,
    }.get(name)
    if not isinstance(value, str) or (valid is not None and value not in valid):
        hint = _(" (one of: %(values)s)") % {"values": ", ".join(valid)} if valid else ""
        raise DefinitionError(
            [
                _("%(value)s is not a %(field)s%(hint)s.")
                % {"value": _shown(value), "field": name, "hint": hint}
            ]
        )
    return value


def _priority(value: Any) -> int:
    if isinstance(value, str) and value.lower() in PRIORITY_NAMES:
        return int(PRIORITY_NAMES[value.lower()])
    if isinstance(value, int) and not isinstance(value, bool) and value in Priority.values:
        return value
    raise DefinitionError(
        [
            _("%(value)s is not a priority (one of: %(names)s).")
            % {"value": _shown(value), "names": ", ".join(PRIORITY_NAMES)}
        ]
    )


# --- actions ------------------------------------------------------------------------


@dataclass(frozen=True)
class Action:
    kind: str
    field: str = ""
    value: Any = None
    texts: dict[str, str] = dataclass_field(default_factory=dict)  # content language → template
    to: tuple[str, ...] = ()

    def text_for(self, language: str) -> str:
        """The template in this language, else the other one ("" when there is none)."""
        return self.texts.get(language) or next(iter(self.texts.values()), "")


def parse_actions(data: Any) -> list[Action]:
    """The actions of a rule or macro, checked; DefinitionError lists every mistake."""
    if not isinstance(data, list) or not data:
        raise DefinitionError([_("Actions must be a list with at least one action.")])
    errors: list[str] = []
    if len(data) > MAX_ITEMS:
        errors.append(_("At most %(n)d actions.") % {"n": MAX_ITEMS})
    actions = []
    for number, item in enumerate(data[:MAX_ITEMS], start=1):
        try:
            actions.append(_action(item))
        except DefinitionError as error:
            prefix = _("Action %(n)d:") % {"n": number}
            errors += [f"{prefix} {message}" for message in error.messages]
    if errors:
        raise DefinitionError(errors)
    return actions


def _action(item: Any) -> Action:
    if not isinstance(item, dict):
        raise DefinitionError([_('must be an object such as {"action": "add_tag", "value": …}.')])
    kind = item.get("action")
    if kind not in ACTION_KEYS:
        raise DefinitionError(
            [
                _("unknown action %(action)s (one of: %(actions)s).")
                % {"action": _shown(kind), "actions": ", ".join(ACTION_KEYS)}
            ]
        )
    unknown = set(item) - ACTION_KEYS[kind] - {"action"}
    if unknown:
        raise DefinitionError(
            [_("unknown key %(keys)s.") % {"keys": ", ".join(sorted(map(str, unknown)))}]
        )
    if kind == "set":
        name = item.get("field")
        if name not in SET_FIELDS:
            raise DefinitionError(
                [
                    _("set changes one of %(fields)s, not %(field)s.")
                    % {"fields": ", ".join(SET_FIELDS), "field": _shown(name)}
                ]
            )
        return Action(kind, field=name, value=_set_value(name, item.get("value")))
    if kind in ("add_tag", "remove_tag"):
        tag = item.get("value")
        if not isinstance(tag, str) or not tag.strip() or len(tag.strip()) > MAX_TAG:
            raise DefinitionError(
                [_("the tag must be a text of 1 to %(n)d characters.") % {"n": MAX_TAG}]
            )
        return Action(kind, value=tag.strip())
    texts = _texts(item, required=kind in ("reply", "note"))
    if kind == "notify":
        to = item.get("to")
        if (
            not isinstance(to, list)
            or not to
            or not all(isinstance(t, str) and t in NOTIFY_TARGETS for t in to)
        ):
            raise DefinitionError(
                [_('"to" must list some of: %(targets)s.') % {"targets": ", ".join(NOTIFY_TARGETS)}]
            )
        return Action(kind, texts=texts, to=tuple(dict.fromkeys(to)))
    return Action(kind, texts=texts)


def _set_value(name: str, value: Any) -> Any:
    if name == "priority":
        return _priority(value)
    if name == "status":
        return _choice("status", value)
    if name == "type":
        if not isinstance(value, str) or not value:
            raise DefinitionError([_("the type must be a type code.")])
        return value
    if value is None or value == "":
        return None  # no group, nobody
    if not isinstance(value, str):
        raise DefinitionError(
            [
                _("the group must be a group code, or null for none.")
                if name == "skill_group"
                else _("the assignee must be an agent's user name, or null for nobody.")
            ]
        )
    return value


def _texts(item: dict, *, required: bool) -> dict[str, str]:
    texts = {}
    for language in ("zh", "en"):
        if language not in item:
            continue
        text = item[language]
        if not isinstance(text, str) or not text.strip():
            raise DefinitionError([_('"%(key)s" must be a text.') % {"key": language}])
        if len(text) > MAX_TEXT:
            raise DefinitionError(
                [_("the text is too long (at most %(n)d characters).") % {"n": MAX_TEXT}]
            )
        wrong = sorted({name for name in BRACED.findall(text) if name not in PLACEHOLDERS})
        if wrong:
            raise DefinitionError(
                [
                    _("unknown placeholder %(wrong)s (one of: %(names)s).")
                    % {
                        "wrong": ", ".join(f"{{{w}}}" for w in wrong),
                        "names": ", ".join(f"{{{p}}}" for p in PLACEHOLDERS),
                    }
                ]
            )
        texts[language] = text.strip()
    if required and not texts:
        raise DefinitionError([_('give the text in "zh", in "en" or in both.')])
    return texts


def render(template: str, values: dict[str, str]) -> str:
    """The template with its placeholders filled in. Only {name} of PLACEHOLDERS is
    replaced (never format-string syntax: a template cannot reach an attribute)."""
    return PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), template)


# --- the whole definition -----------------------------------------------------------


def definition_errors(
    *, actions: Any, conditions: Any = None, trigger: str | None = None
) -> dict[str, list[str]]:
    """Every mistake in a rule's (or, without conditions, a macro's) definition, by
    field, including names that do not exist (type, group, agent); {} when it is good."""
    errors: dict[str, list[str]] = {}
    parsed_conditions: list[Condition] = []
    if trigger is not None:
        try:
            parsed_conditions = parse_conditions(
                [] if conditions is None else conditions, trigger=trigger
            )
        except DefinitionError as error:
            errors["conditions"] = error.messages
    parsed_actions: list[Action] = []
    try:
        parsed_actions = parse_actions(actions)
    except DefinitionError as error:
        errors["actions"] = error.messages
    missing = missing_names(parsed_conditions, parsed_actions)
    for key, messages in missing.items():
        errors.setdefault(key, []).extend(messages)
    return errors


def missing_names(
    conditions: Iterable[Condition], actions: Iterable[Action]
) -> dict[str, list[str]]:
    """Types, groups and agents a definition names that do not exist."""
    from conversations.models import Agent, SkillGroup
    from tickets.models import TicketType

    def values(item) -> list:
        value = item.value
        return [v for v in (value if isinstance(value, tuple) else [value]) if v]

    wanted: dict[str, dict[str, set]] = {"conditions": {}, "actions": {}}
    for condition in conditions:
        if condition.field in ("type", "skill_group"):
            wanted["conditions"].setdefault(condition.field, set()).update(values(condition))
    for action in actions:
        if action.kind == "set" and action.field in ("type", "skill_group", "assignee"):
            wanted["actions"].setdefault(action.field, set()).update(values(action))
    known = {
        "type": lambda names: set(
            TicketType.objects.filter(code__in=names).values_list("code", flat=True)
        ),
        "skill_group": lambda names: set(
            SkillGroup.objects.filter(code__in=names).values_list("code", flat=True)
        ),
        "assignee": lambda names: set(
            Agent.objects.filter(user__username__in=names).values_list("user__username", flat=True)
        ),
    }
    messages = {
        "type": _("There is no ticket type %(names)s."),
        "skill_group": _("There is no group %(names)s."),
        "assignee": _("There is no agent with the user name %(names)s."),
    }
    errors: dict[str, list[str]] = {}
    for key, by_field in wanted.items():
        for name, names in by_field.items():
            absent = sorted(names - known[name](names))
            if absent:
                errors.setdefault(key, []).append(messages[name] % {"names": ", ".join(absent)})
    return errors


def _shown(value: Any) -> str:
    """A wrong value as the message quotes it (short: the message is for a person)."""
    text = repr(value) if not isinstance(value, str) else f"'{value}'"
    return text if len(text) <= 40 else text[:37] + "…"
