import pytest

from tickets.defaults import ensure_defaults
from tickets.models import SLAPolicy, SLATarget, TicketType


@pytest.fixture(autouse=True)
def ticket_defaults(request):
    """The migration's ticket types and default SLA policy (a transactional test's flush
    removes what migrations seeded)."""
    if "db" in request.fixturenames or request.node.get_closest_marker("django_db"):
        ensure_defaults(TicketType, SLAPolicy, SLATarget)


@pytest.fixture
def group():
    """The after-sales group (a test file may have its own)."""
    from tests.factories import SkillGroupFactory

    return SkillGroupFactory(code="aftersales")


@pytest.fixture
def agent(group):
    """An agent of `group`."""
    from tests.factories import AgentFactory

    agent = AgentFactory()
    agent.skill_groups.add(group)
    return agent
