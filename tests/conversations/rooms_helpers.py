"""Steps the team rooms' tests share."""

from __future__ import annotations

from conversations.rooms.models import Room
from tests.factories import AgentFactory, SkillGroupFactory, UserFactory


def team(
    *names: str, code: str = "aftersales", name_zh: str = "售后", name_en: str = "After-sales"
):
    """A skill group (its team room made when it was saved) and agents in it."""
    group = SkillGroupFactory(code=code, name_zh=name_zh, name_en=name_en)
    agents = []
    for name in names:
        agent = AgentFactory(display_name=name)
        agent.skill_groups.add(group)
        agents.append(agent)
    return Room.objects.get(skill_group=group), agents


def outsider(name: str = "外人"):
    return AgentFactory(display_name=name, user=UserFactory(username=f"out-{name}"))
