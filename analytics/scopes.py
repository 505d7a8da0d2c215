"""A dashboard's or the API's date range and filters, from the query string: validated
(dates, from ≤ to, at most MAX_DAYS days), never trusted."""

from __future__ import annotations

from datetime import date, timedelta

from django import forms
from django.utils.translation import gettext_lazy as _

from analytics.periods import today
from analytics.selectors import Scope
from conversations.models import Agent, Conversation, SkillGroup
from customers.models import Customer

MAX_DAYS = 366
DEFAULT_DAYS = 7


class ScopeForm(forms.Form):
    """?from=YYYY-MM-DD&to=YYYY-MM-DD&channel=&skill_group=&agent=&customer_level=&language="""

    start = forms.DateField(label=_("From"), required=False)
    end = forms.DateField(label=_("To"), required=False)
    channel = forms.ChoiceField(
        label=_("Channel"),
        required=False,
        choices=[("", _("All channels")), *Conversation.Channel.choices],
    )
    skill_group = forms.ModelChoiceField(
        label=_("Skill group"),
        required=False,
        queryset=SkillGroup.objects.all(),
        empty_label=_("All groups"),
    )
    agent = forms.ModelChoiceField(
        label=_("Agent"), required=False, queryset=Agent.objects.all(), empty_label=_("All agents")
    )
    customer_level = forms.ChoiceField(
        label=_("Customer level"),
        required=False,
        choices=[("", _("All levels")), *Customer.Level.choices],
    )
    language = forms.ChoiceField(
        label=_("Language"),
        required=False,
        choices=[("", _("All languages")), *Customer.Language.choices],
    )

    def __init__(self, data=None, **kwargs):
        if data is not None:
            data = data.copy()
            for outside, inside in (("from", "start"), ("to", "end")):
                if outside in data:
                    data[inside] = data.pop(outside)[-1]
        super().__init__(data, **kwargs)

    def clean(self):
        cleaned = super().clean()
        end = cleaned.get("end") or today()
        start = cleaned.get("start") or end - timedelta(days=DEFAULT_DAYS - 1)
        if "start" in self.errors or "end" in self.errors:
            return cleaned
        if start > end:
            raise forms.ValidationError(_("The start date is after the end date."))
        if (end - start).days + 1 > MAX_DAYS:
            raise forms.ValidationError(
                _("The range is longer than %(days)s days."), params={"days": MAX_DAYS}
            )
        if start < date(2000, 1, 1) or end > today() + timedelta(days=1):
            raise forms.ValidationError(_("The range lies outside the data."))
        cleaned["start"], cleaned["end"] = start, end
        return cleaned

    def scope(self) -> Scope:
        data = self.cleaned_data
        filters = {}
        if data.get("channel"):
            filters["channel"] = data["channel"]
        if data.get("skill_group"):
            filters["skill_group_id"] = data["skill_group"].pk
        if data.get("agent"):
            filters["agent_id"] = data["agent"].pk
        if data.get("customer_level"):
            filters["customer_level"] = data["customer_level"]
        if data.get("language"):
            filters["language"] = data["language"]
        return Scope(data["start"], data["end"], filters)

    def query(self, **changes) -> str:
        """The query string of this scope (with `changes`), for links."""
        from urllib.parse import urlencode

        data = self.cleaned_data
        params = {
            "from": data["start"].isoformat(),
            "to": data["end"].isoformat(),
            "channel": data.get("channel") or "",
            "skill_group": data["skill_group"].pk if data.get("skill_group") else "",
            "agent": data["agent"].pk if data.get("agent") else "",
            "customer_level": data.get("customer_level") or "",
            "language": data.get("language") or "",
        }
        params.update(changes)
        return urlencode({key: value for key, value in params.items() if value != ""})
