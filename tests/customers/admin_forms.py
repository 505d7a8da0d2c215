"""The customer's admin change form, posted as a supervisor's browser would."""

import json

from django.urls import reverse

INLINES = ("identities", "tags", "notes", "orders", "points_entries", "level_changes")


def customer_change(client, customer, *, tags=(), **changes):
    """POST the customer's admin change form as it stands, with `changes` and new `tags`
    (the inlines otherwise left as they are)."""
    url = reverse("admin:customers_customer_change", args=[customer.pk])
    form = client.get(url).context["adminform"].form
    data = {
        name: value
        for name, value in form.initial.items()
        if value is not None and name not in ("birthday", "quiet_start", "quiet_end")
    }
    data["attributes"] = json.dumps(data.get("attributes") or {})
    data.pop("care_opt_out", None)  # an unticked box is not sent
    data.update(changes)
    for prefix in INLINES:
        data.update({f"{prefix}-TOTAL_FORMS": "0", f"{prefix}-INITIAL_FORMS": "0"})
    data["tags-TOTAL_FORMS"] = str(len(tags))
    for n, name in enumerate(tags):
        data.update({f"tags-{n}-name": name, f"tags-{n}-customer": customer.pk})
    return client.post(url, data)
