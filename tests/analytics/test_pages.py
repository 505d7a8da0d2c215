"""The dashboards: supervisors only, both languages, ranges and filters checked, every
chart linked to what is behind it, CSV of every table."""

import csv
import io
from datetime import timedelta

import pytest
from django.contrib.auth.models import Group

from analytics.periods import day_bounds, today
from analytics.services.rollup import roll_up
from tests.analytics.scenario import build
from tests.factories import AgentFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def boss():
    agent = AgentFactory(display_name="Boss")
    agent.user.groups.add(Group.objects.get_or_create(name="Supervisors")[0])
    return agent


@pytest.fixture
def rolled(past_day):
    start, end = day_bounds(past_day.day)
    roll_up(start=start, end=end)
    return past_day


def _day_query(day):
    return f"from={day.isoformat()}&to={day.isoformat()}"


def test_an_agent_who_is_not_a_supervisor_gets_403(client):
    client.force_login(AgentFactory().user)

    assert client.get("/desk/analytics/").status_code == 403
    assert client.get("/desk/analytics/drill/?metric=counted").status_code == 403


def test_staff_without_an_agent_profile_gets_403_and_visitors_log_in(client):
    assert client.get("/desk/analytics/").status_code == 302
    client.force_login(UserFactory(is_staff=True))
    assert client.get("/desk/analytics/").status_code == 403


def test_the_overview_shows_the_targets_and_where_we_stand(client, boss, rolled):
    client.force_login(boss.user)

    page = client.get(f"/desk/analytics/?{_day_query(rolled.day)}", HTTP_ACCEPT_LANGUAGE="en")

    assert page.status_code == 200
    text = page.content.decode()
    assert "Response rate" in text and "75.0%" in text and "≥ 100.0%" in text
    assert "Resolution rate" in text and "85.7%" in text
    assert "Satisfaction (CSAT)" in text and "50.0%" in text
    assert text.count('role="img"') >= 10  # trends, breakdowns, backlog: SVG charts
    assert "<title id=" in text


def test_the_overview_speaks_chinese(client, boss, rolled):
    client.force_login(boss.user)

    page = client.get(f"/desk/analytics/?{_day_query(rolled.day)}", HTTP_ACCEPT_LANGUAGE="zh-hans")

    assert page.status_code == 200
    assert "响应率" in page.content.decode()


def test_every_chart_bar_links_to_its_drill_down(client, boss, rolled):
    client.force_login(boss.user)
    text = client.get(f"/desk/analytics/?{_day_query(rolled.day)}").content.decode()

    drill = client.get(f"/desk/analytics/drill/?{_day_query(rolled.day)}&metric=handoff_unanswered")

    assert "/desk/analytics/drill/?" in text
    assert drill.status_code == 200
    assert str(rolled.conversations["left"].pk) in drill.content.decode()
    assert str(rolled.conversations["handoff"].pk) not in drill.content.decode()


def test_a_breakdown_drills_down_with_its_filter(client, boss, rolled):
    client.force_login(boss.user)

    drill = client.get(
        f"/desk/analytics/drill/?{_day_query(rolled.day)}&metric=counted&customer_level=gold"
    ).content.decode()

    assert str(rolled.conversations["handoff"].pk) in drill
    assert str(rolled.conversations["bot"].pk) not in drill


def test_ticket_numbers_drill_down_to_tickets(client, boss, rolled):
    client.force_login(boss.user)

    drill = client.get(
        f"/desk/analytics/drill/?{_day_query(rolled.day)}&metric=tickets_reopened"
    ).content.decode()

    assert rolled.tickets["late"].number in drill


@pytest.mark.parametrize(
    "query",
    [
        "from=2026-13-01",
        "from=yesterday",
        "to=2020-01-01&from=2020-02-01",
        "from=2020-01-01&to=2021-06-01",
        "from=1999-01-01&to=1999-01-02",
        "agent=999999",
        "skill_group=abc",
        "channel=fax",
        "customer_level=emperor",
        "from=%00",
    ],
)
def test_a_bad_range_or_filter_is_a_400_with_the_reason(client, boss, query):
    client.force_login(boss.user)

    response = client.get(f"/desk/analytics/?{query}")

    assert response.status_code == 400
    assert 'role="alert"' in response.content.decode()


def test_an_unknown_metric_is_a_400(client, boss):
    client.force_login(boss.user)

    assert client.get("/desk/analytics/drill/?metric=nope").status_code == 400


def test_every_table_downloads_as_csv(client, boss, rolled):
    client.force_login(boss.user)
    text = client.get(f"/desk/analytics/?{_day_query(rolled.day)}").content.decode()
    keys = sorted(set(part.split('"')[0] for part in text.split("export=")[1:]))

    assert len(keys) >= 15
    for key in keys:
        response = client.get(f"/desk/analytics/?{_day_query(rolled.day)}&export={key}")
        assert response.status_code == 200, key
        assert response["Content-Type"].startswith("text/csv")
    by_channel = client.get(f"/desk/analytics/?{_day_query(rolled.day)}&export=by_channel")
    rows = list(csv.reader(io.StringIO(by_channel.content.decode("utf-8-sig"))))
    assert rows[1][:2] == ["Web", "7"] or rows[1][:2] == ["网页", "7"]


def test_an_unknown_table_is_a_404(client, boss):
    client.force_login(boss.user)

    assert client.get("/desk/analytics/?export=nope").status_code == 404


def test_csv_cells_cannot_run_as_formulas(client, boss, rolled):
    conversation = rolled.conversations["handoff"]
    conversation.customer.name = '=HYPERLINK("http://evil")'
    conversation.customer.save(update_fields=["name"])
    client.force_login(boss.user)

    response = client.get(
        f"/desk/analytics/drill/?{_day_query(rolled.day)}&metric=counted&export=1"
    )

    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    names = [row[2] for row in rows[1:]]
    assert '\'=HYPERLINK("http://evil")' in names
    assert not any(name.startswith(("=", "+", "-", "@")) for name in names)


def test_the_range_defaults_to_the_last_seven_days(client, boss):
    client.force_login(boss.user)

    text = client.get("/desk/analytics/").content.decode()

    assert (today() - timedelta(days=6)).isoformat() in text


def test_the_live_board_has_todays_numbers(client, boss):
    build(today(), hour=0)
    client.force_login(boss.user)

    fragment = client.get("/desk/board/live/", HTTP_ACCEPT_LANGUAGE="en").content.decode()

    assert 'id="board-today"' in fragment
    assert 'data-metric="response_rate"' in fragment and "75.0%" in fragment


def test_a_long_range_drills_into_its_last_days_newest_first(client, boss, rolled):
    client.force_login(boss.user)
    start = (rolled.day - timedelta(days=100)).isoformat()

    drill = client.get(
        f"/desk/analytics/drill/?from={start}&to={rolled.day.isoformat()}&metric=counted"
    ).content.decode()

    positions = [
        drill.index(str(rolled.conversations[name].pk)) for name in ("second_visit", "bot")
    ]
    assert positions == sorted(positions)  # the later conversation first
    assert "最后 31 天" in drill  # the default language


def _section(page: str, key: str) -> str:
    start = page.index(f'id="table-{key}"')
    return page[start : page.index("</section>", start)]


def test_a_long_range_trends_by_week_and_a_short_one_by_day(client, boss, rolled):
    client.force_login(boss.user)
    end = rolled.day + timedelta(days=1)
    year = f"from={(end - timedelta(days=364)).isoformat()}&to={end.isoformat()}"
    month = f"from={(end - timedelta(days=29)).isoformat()}&to={end.isoformat()}"

    yearly = _section(
        client.get(f"/desk/analytics/?{year}", HTTP_ACCEPT_LANGUAGE="en").content.decode(),
        "trend_conversations",
    )
    monthly = _section(
        client.get(f"/desk/analytics/?{month}", HTTP_ACCEPT_LANGUAGE="en").content.decode(),
        "trend_conversations",
    )
    zh = client.get(f"/desk/analytics/?{year}").content.decode()

    # 365 days from a weekday: 52 whole weeks and the cut ones at both ends.
    assert yearly.count('class="chart-bar"') in (53, 54)
    assert "Conversations per week" in yearly and "Week from" in yearly
    monday = rolled.day - timedelta(days=rolled.day.weekday())
    week = f"from={max(monday, end - timedelta(days=364)).isoformat()}&amp;to={min(monday + timedelta(days=6), end).isoformat()}"
    assert week in yearly  # the week's bar drills into the week
    assert monthly.count('class="chart-bar"') == 30 and "Conversations per day" in monthly
    assert "每周" in _section(zh, "trend_conversations")


def test_a_weeks_point_is_the_sum_of_its_days(boss, rolled):
    from django.utils import timezone

    from analytics.dashboard import Overview
    from analytics.selectors import Scope

    end = rolled.day + timedelta(days=1)
    page = Overview(Scope(end - timedelta(days=364), end), "", timezone.now())

    periods = page.trend_periods()

    assert periods[0][0] == end - timedelta(days=364) and periods[-1][1] == end
    assert all(b[0] == a[1] + timedelta(days=1) for a, b in zip(periods, periods[1:], strict=False))
    assert all(first.weekday() == 0 for first, _last, _t in periods[1:])
    assert sum(totals["conversations"] for _f, _l, totals in periods) == 7
    assert page.totals["conversations"] == 7
