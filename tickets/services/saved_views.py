"""Saved views of the desk's ticket list: an agent keeps a set of filters under a name.

A view is its owner's: only they rename, move or delete it. Only a supervisor
shares one, with everyone or with a skill group; an agent's view is private.
The filters are checked against tickets.selectors.TicketFilters when saved
(unknown names or values are refused), and stored as the list's query has them.
"""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from conversations.models import Agent, SkillGroup
from tickets.models import SavedView
from tickets.selectors import InvalidFilters, TicketFilters
from tickets.services.tickets import TicketInputError

MAX_NAME = 60
MAX_VIEWS = 30  # an agent's own: tabs beyond that help nobody


def save_view(
    *,
    owner: Agent,
    name: str,
    filters: dict,
    scope: str = SavedView.Scope.PRIVATE,
    skill_group: SkillGroup | None = None,
) -> SavedView:
    """A new view of `owner`'s, last of their tabs. Raises TicketInputError (nothing
    written) for an empty, too long or already used name, filters the list does not
    know, a share by someone who is not a supervisor, or too many views."""
    name = _clean_name(name)
    checked = _checked_filters(filters)
    scope, skill_group = _checked_scope(owner, scope, skill_group)
    with transaction.atomic():
        # The owner's row serialises their saves: the limit and the position hold.
        Agent.objects.select_for_update().filter(pk=owner.pk).first()
        mine = SavedView.objects.filter(owner=owner)
        if mine.count() >= MAX_VIEWS:
            raise TicketInputError(_("At most %(n)d saved views.") % {"n": MAX_VIEWS})
        if mine.filter(name=name).exists():
            raise TicketInputError(_("You already have a view named %(name)s.") % {"name": name})
        last = mine.order_by("-position").values_list("position", flat=True).first()
        return SavedView.objects.create(
            owner=owner,
            name=name,
            filters=checked,
            scope=scope,
            skill_group=skill_group,
            position=0 if last is None else last + 1,
        )


def rename_view(*, owner: Agent, view_id: int, name: str) -> SavedView:
    """Rename one of `owner`'s views; another's (or none) raises SavedView.DoesNotExist."""
    name = _clean_name(name)
    with transaction.atomic():
        view = SavedView.objects.select_for_update().get(pk=view_id, owner=owner)
        if view.name == name:
            return view
        view.name = name
        try:
            with transaction.atomic():
                view.save(update_fields=["name"])
        except IntegrityError:
            raise TicketInputError(
                _("You already have a view named %(name)s.") % {"name": name}
            ) from None
    return view


def move_view(*, owner: Agent, view_id: int, step: int) -> None:
    """Move one of `owner`'s views a place earlier (step -1) or later (+1) among their
    tabs; at either end nothing moves."""
    with transaction.atomic():
        views = list(
            SavedView.objects.select_for_update()
            .filter(owner=owner)
            .order_by("position", "name", "pk")
        )
        index = next((i for i, view in enumerate(views) if view.pk == view_id), None)
        if index is None:
            raise SavedView.DoesNotExist
        other = index + (1 if step > 0 else -1)
        if not 0 <= other < len(views):
            return
        views[index], views[other] = views[other], views[index]
        for position, view in enumerate(views):
            if view.position != position:
                view.position = position
                view.save(update_fields=["position"])


def delete_view(*, owner: Agent, view_id: int) -> None:
    """Delete one of `owner`'s views; another's (or none) raises SavedView.DoesNotExist."""
    deleted, _rows = SavedView.objects.filter(pk=view_id, owner=owner).delete()
    if not deleted:
        raise SavedView.DoesNotExist


def _clean_name(name) -> str:
    if not isinstance(name, str) or not name.replace("\x00", "").strip():
        raise TicketInputError(_("Give the view a name."))
    name = name.replace("\x00", "")
    name = " ".join(name.split())
    if len(name) > MAX_NAME:
        raise TicketInputError(
            _("The name is too long (at most %(limit)d characters).") % {"limit": MAX_NAME}
        )
    return name


def _checked_filters(filters) -> dict:
    try:
        return TicketFilters.from_saved(filters).as_query()
    except InvalidFilters as error:
        raise TicketInputError(str(error)) from None


def _checked_scope(owner: Agent, scope, skill_group) -> tuple[str, SkillGroup | None]:
    if scope not in SavedView.Scope.values:
        raise TicketInputError(_("Unknown sharing choice."))
    if scope == SavedView.Scope.PRIVATE:
        return scope, None
    if not owner.is_supervisor:
        raise TicketInputError(_("Only a supervisor can share a view."))
    if scope == SavedView.Scope.GROUP:
        if not isinstance(skill_group, SkillGroup):
            raise TicketInputError(_("Choose the group to share the view with."))
        return scope, skill_group
    return scope, None
