from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CustomersConfig(AppConfig):
    name = "customers"
    verbose_name = _("Customers")

    def ready(self):
        from customers import hooks
        from customers.models import TagRule
        from customers.selectors import order_activity
        from customers.services import tag_rules

        hooks.on_tag_facts(TagRule.Kind.CATEGORY, "orders", tag_rules.category_facts)
        hooks.on_tag_facts(TagRule.Kind.SPEND, "spent", tag_rules.spend_facts)
        hooks.on_customer_activity(order_activity)
