"""Bulk changes from the desk's ticket list: one change applied to many tickets at once."""

from __future__ import annotations

from dataclasses import dataclass, field

from django.db import transaction
from django.utils.translation import gettext as _

from conversations.models import Agent, SkillGroup
from tickets.models import Priority, Ticket
from tickets.selectors import forget_view_counts, visible_tickets
from tickets.services.tickets import TicketClosed, TicketInputError, change_ticket

MAX_BULK = 200
MAX_TAG = 40  # as Ticket.tags holds them
BULK_FIELDS = ("status", "priority", "assignee", "skill_group", "add_tag")


@dataclass
class BulkResult:
    """What a bulk change did, ticket by ticket (ids, in order)."""

    changed: list[int] = field(default_factory=list)  # at least one field changed
    unchanged: list[int] = field(default_factory=list)  # already as asked
    closed: list[int] = field(default_factory=list)  # skipped: a closed ticket is not edited
    refused: dict[int, str] = field(default_factory=dict)  # skipped: why (too many tags…)
    not_visible: list[int] = field(default_factory=list)  # ignored: not the agent's to see

    @property
    def changed_count(self) -> int:
        return len(self.changed)

    @property
    def skipped_count(self) -> int:
        return len(self.closed) + len(self.refused)


def bulk_change(*, actor: Agent, ticket_ids, **changes) -> BulkResult:
    """Apply `changes` to each of `ticket_ids` the agent `actor` may see, through
    change_ticket (its row lock, one timeline row per field that really changed, the
    clocks, with actor's user as who), in one transaction, in id order (two bulk changes
    over the same tickets lock them in the same order: no deadlock).

    changes: status, priority, assignee (an Agent or None), skill_group (a SkillGroup or
    None), add_tag (a tag added to the ticket's tags). They are checked first: a bad
    value, no change or more than MAX_BULK tickets raises TicketInputError and nothing
    is written. Then per ticket: ids the agent cannot see (or that do not exist) are
    ignored, never changed; a closed ticket is skipped; a ticket the change does not
    fit (its 21st tag) is skipped with the reason; one already as asked is left alone.
    The agent's saved-view counts are forgotten, so their tabs show the change.
    """
    ids = _checked_ids(ticket_ids)
    changes = _checked_changes(changes)
    result = BulkResult()
    with transaction.atomic():
        visible = set(visible_tickets(actor).filter(pk__in=ids).values_list("pk", flat=True))
        result.not_visible = [pk for pk in ids if pk not in visible]
        for pk in sorted(visible):
            ticket = (
                Ticket.objects.select_for_update(of=("self",))
                .only("pk", "status", "priority", "assignee_id", "skill_group_id", "tags")
                .get(pk=pk)
            )
            if ticket.status == Ticket.Status.CLOSED:
                result.closed.append(pk)
                continue
            wanted = _differences(ticket, changes)
            if not wanted:
                result.unchanged.append(pk)
                continue
            try:
                with transaction.atomic():
                    change_ticket(ticket_id=pk, actor=actor.user, **wanted)
            except TicketClosed:
                result.closed.append(pk)
            except TicketInputError as error:
                result.refused[pk] = str(error)
            else:
                result.changed.append(pk)
    transaction.on_commit(lambda: forget_view_counts(actor))
    return result


def _checked_ids(ticket_ids) -> list[int]:
    if isinstance(ticket_ids, str | bytes) or not hasattr(ticket_ids, "__iter__"):
        raise TicketInputError(_("Choose the tickets to change."))
    ids: list[int] = []
    for value in ticket_ids:
        if isinstance(value, bool) or not isinstance(value, int) or not 0 < value < 2**63:
            raise TicketInputError(_("Unknown ticket."))
        if value not in ids:
            ids.append(value)
        if len(ids) > MAX_BULK:
            raise TicketInputError(
                _("At most %(n)d tickets at once: choose fewer.") % {"n": MAX_BULK}
            )
    if not ids:
        raise TicketInputError(_("Choose the tickets to change."))
    return ids


def _checked_changes(changes: dict) -> dict:
    unknown = set(changes) - set(BULK_FIELDS)
    if unknown:
        raise TicketInputError(
            _("These fields cannot be changed: %(f)s") % {"f": ", ".join(sorted(unknown))}
        )
    if not changes:
        raise TicketInputError(_("Choose what to change."))
    if "status" in changes and changes["status"] not in Ticket.Status.values:
        raise TicketInputError(_("Unknown status %(status)s.") % {"status": changes["status"]})
    if "priority" in changes and (
        isinstance(changes["priority"], bool) or changes["priority"] not in Priority.values
    ):
        raise TicketInputError(_("Unknown priority."))
    if "assignee" in changes and not (
        changes["assignee"] is None or isinstance(changes["assignee"], Agent)
    ):
        raise TicketInputError(_("Unknown agent."))
    if "skill_group" in changes and not (
        changes["skill_group"] is None or isinstance(changes["skill_group"], SkillGroup)
    ):
        raise TicketInputError(_("Unknown group."))
    if "add_tag" in changes:
        tag = changes["add_tag"] if isinstance(changes["add_tag"], str) else ""
        tag = tag.replace("\x00", "").strip()  # no NUL in PostgreSQL's text
        if not tag or len(tag) > MAX_TAG:
            raise TicketInputError(
                _("A tag is 1 to %(limit)d characters long.") % {"limit": MAX_TAG}
            )
        changes = changes | {"add_tag": tag}
    return changes


def _differences(ticket: Ticket, changes: dict) -> dict:
    """The changes that would change this ticket, as change_ticket takes them."""
    wanted = {}
    if "status" in changes and ticket.status != changes["status"]:
        wanted["status"] = changes["status"]
    if "priority" in changes and ticket.priority != changes["priority"]:
        wanted["priority"] = changes["priority"]
    if "assignee" in changes:
        assignee = changes["assignee"]
        if ticket.assignee_id != (assignee.pk if assignee else None):
            wanted["assignee"] = assignee
    if "skill_group" in changes:
        group = changes["skill_group"]
        if ticket.skill_group_id != (group.pk if group else None):
            wanted["skill_group"] = group
    if "add_tag" in changes and changes["add_tag"] not in ticket.tags:
        wanted["tags"] = [*ticket.tags, changes["add_tag"]]  # change_ticket checks the number
    return wanted
