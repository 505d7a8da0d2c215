"""What customers tell the outside: the partner events (contracts/partner-api.md,
"Webhooks"), declared in one place. Emitted by the services in the transaction of the
change."""

from __future__ import annotations

from customers.models import Customer
from helpdesk import webhooks


def customer_data(customer: Customer) -> dict:
    """A customer as partners see it: the partner API's representation (customers/api.py),
    so an event carries the same object a GET of the customer returns (without its
    recent activity)."""
    from customers.api import CustomerSerializer  # the API module imports the services

    return dict(CustomerSerializer(customer).data)


def customer_updated(customer: Customer, *, changed: list[str], created: bool) -> None:
    webhooks.emit(
        "customer.updated",
        {"customer": customer_data(customer), "changed": changed, "created": created},
    )
