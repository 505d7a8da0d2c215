"""Ticket automation: rules that run when a ticket is created, is updated or has waited
long enough, and macros an agent applies by hand. Both speak the vocabulary of
tickets/rules.py and change tickets only through change_ticket and add_comment, so
every change has its timeline row and the SLA clocks follow.

- A rule that fires writes a "rule" row naming it before the rows of what it
  changed (actor: nobody); a macro writes "macro X applied by Y" the same way.
- No loops: while rules or a macro's steps are at work, the changes they make
  trigger no rules (`without_rules`). A macro is an agent's update: the rules on
  updates run once after it, for everything it changed.
- A time-based rule fires at most once per ticket (RuleRun, written under the
  ticket's row lock, unique on rule and ticket).
- A rule that cannot be carried out (a group deleted since, a closed ticket)
  changes nothing and leaves a row saying why; the write that triggered it goes on.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from datetime import datetime

from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import override

from conversations.models import Agent, SkillGroup
from conversations.roles import SUPERVISORS
from conversations.services.notices import notify
from helpdesk import webhooks
from helpdesk.languages import content_language, django_language
from tickets import events, rules
from tickets.models import AutomationRule, Macro, RuleRun, Ticket, TicketComment, TicketEvent
from tickets.services import tickets as writes
from tickets.services.clock import calendar_of

logger = logging.getLogger(__name__)

TIME_RULE_BATCH = 500
NOTICE_KIND = "ticket_automation"


class AutomationError(Exception):
    """A rule or macro that cannot be carried out now; the message says why."""


_at_work: ContextVar[bool] = ContextVar("ticket_automation_at_work", default=False)


@contextmanager
def without_rules() -> Iterator[None]:
    """While automation changes a ticket, those changes trigger no rules."""
    token = _at_work.set(True)
    try:
        yield
    finally:
        _at_work.reset(token)


# --- the hooks of the ticket services ------------------------------------------------


def ticket_created(ticket: Ticket) -> None:
    """Called by open_ticket inside its transaction: the active rules on creation, in
    order. The ticket object is brought up to date with what they changed."""
    if not _at_work.get():
        _run_rules(ticket, trigger=AutomationRule.Trigger.CREATED, changed=frozenset())


def ticket_updated(ticket: Ticket, *, changed) -> None:
    """Called by change_ticket and add_comment inside their transaction with what
    changed (names of tickets.rules.CHANGES): the active rules on updates, in order;
    nothing when nothing changed or when automation made the change."""
    if changed and not _at_work.get():
        _run_rules(ticket, trigger=AutomationRule.Trigger.UPDATED, changed=frozenset(changed))


def comment_changes(comment: TicketComment, old_status: str) -> list[str]:
    """What a comment changed, as rules on updates see it."""
    if comment.from_customer:
        kind = "customer_reply"
    else:
        kind = "public_reply" if comment.public else "internal_note"
    return [kind, "status"] if comment.ticket.status != old_status else [kind]


def _run_rules(ticket: Ticket, *, trigger: str, changed: frozenset[str]) -> None:
    active = list(AutomationRule.objects.filter(is_active=True, trigger=trigger))
    if not active:
        return
    now = timezone.now()
    fired = False
    with without_rules():
        current = _locked(ticket.pk)
        for rule in active:
            if current.status == Ticket.Status.CLOSED:
                break
            if _run_rule(rule, current, changed=changed, now=now):
                fired = True
                current = _locked(ticket.pk)
    if fired:
        ticket.refresh_from_db()


def _run_rule(rule: AutomationRule, ticket: Ticket, *, changed, now: datetime) -> bool:
    """True when the rule fired (or failed and said so in the timeline)."""
    try:
        conditions = rules.parse_conditions(rule.conditions, trigger=rule.trigger)
        actions = rules.parse_actions(rule.actions)
    except rules.DefinitionError as error:
        # The rule is broken, not the ticket: admin's form refuses this, the shell did not.
        logger.warning("automation rule %s is not valid: %s", rule.pk, error)
        return False
    if not all(condition.holds(_facts(ticket, now, changed)) for condition in conditions):
        return False
    try:
        with transaction.atomic():
            event = _rule_row(ticket, rule)
            _carry_out(actions, ticket=ticket, actor=None, by={"rule": rule.name}, event=event)
    except (AutomationError, writes.TicketInputError, writes.TicketClosed) as error:
        _rule_failed(ticket, rule, error)
    return True


# --- time-based rules ---------------------------------------------------------------


def run_time_rules(*, now: datetime | None = None) -> list[tuple[int, int]]:
    """Fire every active time-based rule on every ticket (not closed) it holds for and
    has not fired on yet; returns the (rule id, ticket id) pairs fired.

    Exactly once per rule and ticket, with any number of runs at once: each ticket is
    taken under its row lock (SKIP LOCKED: a ticket another run holds is its business),
    its RuleRun is checked and written in the transaction that carries out the
    actions, and a unique constraint has the last word. A rule whose actions fail is
    recorded as run too, with a row saying why: it is not retried every few minutes.
    """
    now = now or timezone.now()
    fired: list[tuple[int, int]] = []
    for rule in AutomationRule.objects.filter(is_active=True, trigger=AutomationRule.Trigger.TIME):
        try:
            conditions = rules.parse_conditions(rule.conditions, trigger=rule.trigger)
            actions = rules.parse_actions(rule.actions)
        except rules.DefinitionError as error:
            logger.warning("automation rule %s is not valid: %s", rule.pk, error)
            continue
        narrowed = [q for c in conditions if (q := c.narrowing(now)) is not None]
        candidates = (
            Ticket.objects.exclude(status=Ticket.Status.CLOSED)
            .filter(*narrowed)
            .exclude(Exists(RuleRun.objects.filter(rule=rule, ticket=OuterRef("pk"))))
            .order_by("pk")
        )
        last = 0
        while ids := list(
            candidates.filter(pk__gt=last).values_list("pk", flat=True)[:TIME_RULE_BATCH]
        ):
            last = ids[-1]
            fired += [(rule.pk, pk) for pk in ids if _fire_once(rule, conditions, actions, pk, now)]
    return fired


def _fire_once(rule: AutomationRule, conditions, actions, ticket_id: int, now: datetime) -> bool:
    failure: Exception | None = None
    try:
        with transaction.atomic():
            ticket = (
                _for_rules(Ticket.objects.select_for_update(skip_locked=True, of=("self",)))
                .filter(pk=ticket_id)
                .first()
            )
            if ticket is None or ticket.status == Ticket.Status.CLOSED:
                return False
            if RuleRun.objects.filter(rule=rule, ticket=ticket).exists():
                return False
            if not all(condition.holds(_facts(ticket, now)) for condition in conditions):
                return False
            RuleRun.objects.create(rule=rule, ticket=ticket)
            with without_rules():
                try:
                    with transaction.atomic():
                        event = _rule_row(ticket, rule)
                        _carry_out(
                            actions, ticket=ticket, actor=None, by={"rule": rule.name}, event=event
                        )
                except (AutomationError, writes.TicketInputError, writes.TicketClosed) as error:
                    failure = error
            if failure is not None:
                _rule_failed(ticket, rule, failure)
    except IntegrityError:
        return False  # another run recorded it first
    return failure is None


# --- macros -------------------------------------------------------------------------


def apply_macro(*, ticket_id: int, macro: Macro, actor) -> Ticket:
    """Carry out the macro's actions on the ticket as `actor`, all or nothing, after a
    "macro X applied by Y" row. The rules on updates then run once for everything it
    changed. Raises AutomationError (a definition that cannot be carried out now, the
    order system not answering), TicketInputError or TicketClosed; nothing is written
    then."""
    try:
        actions = rules.parse_actions(macro.actions)
    except rules.DefinitionError as error:
        raise AutomationError(str(error)) from error
    with transaction.atomic():
        ticket = _locked(ticket_id)
        if ticket.status == Ticket.Status.CLOSED:
            raise writes.TicketClosed
        before = _snapshot(ticket)
        event = TicketEvent.objects.create(
            ticket=ticket, kind=TicketEvent.Kind.MACRO, actor=actor, field="macro", new=macro.name
        )
        with without_rules():
            comments = _carry_out(
                actions,
                ticket=ticket,
                actor=actor,
                by={"macro": macro.name, "user": getattr(actor, "username", "")},
                event=event,
            )
        ticket = _locked(ticket_id)
        after = _snapshot(ticket)
        ticket_updated(
            ticket, changed=[name for name in before if before[name] != after[name]] + comments
        )
    return ticket


# --- the actions --------------------------------------------------------------------


def _carry_out(actions, *, ticket: Ticket, actor, by: dict, event: TicketEvent) -> list[str]:
    """The actions in their order, each through the ticket services (the caller's
    transaction holds the row). Returns the kinds of comment written."""
    from tickets.services import flows

    comments: list[str] = []
    for action in actions:
        if action.kind == "set":
            writes.change_ticket(
                ticket_id=ticket.pk, actor=actor, **{action.field: _set_value(action)}
            )
        elif action.kind in ("add_tag", "remove_tag"):
            tags = Ticket.objects.values_list("tags", flat=True).get(pk=ticket.pk)
            wanted = [t for t in tags if t.casefold() != action.value.casefold()]
            if action.kind == "add_tag":
                wanted = tags if len(wanted) < len(tags) else [*tags, action.value]
            if wanted != tags:
                writes.change_ticket(ticket_id=ticket.pk, actor=actor, tags=wanted)
        elif action.kind in ("reply", "note"):
            public = action.kind == "reply"
            writes.add_comment(
                ticket_id=ticket.pk,
                body=_text(action, _locked(ticket.pk), for_customer=public),
                public=public,
                author=actor,
            )
            comments.append("public_reply" if public else "internal_note")
        elif action.kind == "notify":
            _notify(action, _locked(ticket.pk), by=by, event=event)
        elif action.kind == "webhook":
            webhooks.emit("ticket.updated", _webhook_data(_locked(ticket.pk), by=by))
        elif action.kind == "refund_status":
            flows.ask_refund_status(ticket_id=ticket.pk, actor=actor)
            comments.append("public_reply")
    return comments


def _set_value(action: rules.Action):
    if action.field == "skill_group" and action.value is not None:
        group = SkillGroup.objects.filter(code=action.value).first()
        if group is None:
            raise AutomationError(_("There is no group %(names)s.") % {"names": action.value})
        return group
    if action.field == "assignee" and action.value is not None:
        agent = Agent.objects.filter(user__username=action.value).first()
        if agent is None:
            raise AutomationError(
                _("There is no agent with the user name %(names)s.") % {"names": action.value}
            )
        return agent
    return action.value


def _text(action: rules.Action, ticket: Ticket, *, for_customer: bool) -> str:
    """The action's template with the ticket's values: a reply in the customer's
    language (when the template has it), a note in the language at work."""
    language = ticket.customer.language if for_customer else content_language()
    with override(django_language(language)):
        return rules.render(action.text_for(language), placeholders(ticket))


def placeholders(ticket: Ticket) -> dict[str, str]:
    """The values of a template's placeholders, in the active language."""
    return {
        "number": ticket.number,
        "customer": str(ticket.customer.display_name),
        "subject": ticket.subject,
        "status": str(ticket.get_status_display()),
        "priority": str(ticket.get_priority_display()),
        "type": ticket.type.name,
        "group": ticket.skill_group.name if ticket.skill_group_id else "",
        "assignee": ticket.assignee.display_name if ticket.assignee_id else "",
    }


def _notify(action: rules.Action, ticket: Ticket, *, by: dict, event: TicketEvent) -> None:
    who = Q(pk__in=[])
    if "assignee" in action.to and ticket.assignee_id:
        who |= Q(pk=ticket.assignee_id)
    if "group" in action.to and ticket.skill_group_id:
        who |= Q(skill_groups=ticket.skill_group_id)
    if "supervisors" in action.to:
        who |= Q(user__is_superuser=True) | Q(user__groups__name=SUPERVISORS)
    agents = list(Agent.objects.filter(who).values_list("pk", flat=True).distinct())
    name = by.get("rule") or by.get("macro", "")

    def text() -> str:
        language = content_language()
        if action.texts:
            return rules.render(action.text_for(language), placeholders(ticket))
        return _("%(by)s: ticket %(number)s (%(subject)s) needs your attention.") % {
            "by": name,
            "number": ticket.number,
            "subject": ticket.subject,
        }

    notify(
        agents=agents,
        kind=NOTICE_KIND,
        key=f"automation:{event.pk}",
        text=text,
        url=reverse("tickets:detail", args=[ticket.pk]),
    )


def _webhook_data(ticket: Ticket, *, by: dict) -> dict:
    """The partner contract's ticket event (the same ticket shape as every ticket event),
    with which rule or macro sent it."""
    return {"ticket": events.ticket_data(ticket), "changed": [], "changed_by": by}


# --- helpers ------------------------------------------------------------------------


def _for_rules(queryset):
    return queryset.select_related(
        "customer", "type", "skill_group", "assignee__user", "sla_policy__calendar"
    )


def _locked(ticket_id: int) -> Ticket:
    return _for_rules(Ticket.objects.select_for_update(of=("self",))).get(pk=ticket_id)


def _facts(ticket: Ticket, now: datetime, changed=frozenset()) -> rules.Facts:
    return rules.Facts(
        ticket=ticket,
        now=now,
        changed=frozenset(changed),
        calendar=lambda: calendar_of(ticket.sla_policy),
    )


def _snapshot(ticket: Ticket) -> dict[str, object]:
    """The fields a macro may change, by the names rules on updates know them by."""
    return {
        "subject": ticket.subject,
        "status": ticket.status,
        "priority": ticket.priority,
        "type": ticket.type_id,
        "skill_group": ticket.skill_group_id,
        "assignee": ticket.assignee_id,
        "tags": list(ticket.tags),
    }


def _rule_row(ticket: Ticket, rule: AutomationRule) -> TicketEvent:
    return TicketEvent.objects.create(
        ticket=ticket, kind=TicketEvent.Kind.RULE, field="rule", new=rule.name
    )


def _rule_failed(ticket: Ticket, rule: AutomationRule, error: Exception) -> None:
    message = str(error) or _("This ticket is closed.")
    logger.info("automation rule %s did not run on %s: %s", rule.pk, ticket.number, message)
    TicketEvent.objects.create(
        ticket=ticket,
        kind=TicketEvent.Kind.RULE,
        field="failed",
        new=f"{rule.name}: {message}"[:1000],
    )
