"""Demo data for `make run`: skill groups with their routing, a supervisor and three
agents, canned replies, two known customers with orders (the VIP one with a dedicated
agent), automatic tag rules, and the knowledge base and intents of knowledge/demo/.

Idempotent: running it again changes nothing (existing passwords are kept).
"""

from datetime import date, time, timedelta

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from conversations.demo import (
    CANNED_REPLIES,
    DEDICATED,
    DEMO_PASSWORD,
    ROUTING,
    SKILL_GROUPS,
    STAFF,
    WIDGET_SITES,
)
from conversations.models import Agent, CannedReply, DedicatedAgent, SkillGroup, WidgetSite
from conversations.roles import SUPERVISORS, ensure_roles
from customers.demo import DEMO_CUSTOMERS, DEMO_TAG_RULES, INVITATION_RULES, RECOMMENDATION_RULES
from customers.models import (
    Customer,
    CustomerNote,
    CustomerTag,
    InvitationRule,
    Order,
    RecommendationRule,
    TagRule,
)
from customers.services import tag_rules
from customers.services.orders import upsert_order
from knowledge.demo import DEMO_DIR
from knowledge.services import import_intents, import_kb


class Command(BaseCommand):
    help = "Load the demo shop's staff and skill groups (idempotent)."

    @transaction.atomic
    def handle(self, *args, **options):
        ensure_roles()
        groups = {}
        new_groups = set()
        for code, name_zh, name_en in SKILL_GROUPS:
            routing = ROUTING.get(code, {})
            groups[code], is_new = SkillGroup.objects.get_or_create(
                code=code,
                defaults={
                    "name_zh": name_zh,
                    "name_en": name_en,
                    "strategy": routing.get("strategy", SkillGroup.Strategy.LEAST_LOAD),
                    "prefer_dedicated_agent": routing.get("prefer_dedicated_agent", False),
                    "in_menu": routing.get("in_menu", True),
                    "position": routing.get("position", 0),
                },
            )
            if is_new:
                new_groups.add(code)
        for code, routing in ROUTING.items():
            if "overflow" in routing and groups[code].overflow_group_id is None:
                target, wait = routing["overflow"]
                groups[code].overflow_group = groups[target]
                groups[code].overflow_after = wait
                groups[code].save(update_fields=["overflow_group", "overflow_after"])
        user_model = get_user_model()
        created = 0
        for username, display_name, role, skills in STAFF:
            user, is_new = user_model.objects.get_or_create(
                username=username, defaults={"is_staff": role == SUPERVISORS}
            )
            if is_new:
                user.set_password(DEMO_PASSWORD)
                user.save(update_fields=["password"])
                user.groups.add(Group.objects.get(name=role))
                created += 1
            agent, _ = Agent.objects.get_or_create(
                user=user, defaults={"display_name": display_name}
            )
            if not agent.skill_groups.exists():
                agent.skill_groups.set(groups[code] for code in skills)
            else:
                # A group added to the demo later (tech) gets its people in an older
                # installation too; groups that existed keep what admin made of them.
                agent.skill_groups.add(*(groups[code] for code in skills if code in new_groups))
        self.stdout.write(f"demo data: {created} new staff accounts, {len(groups)} skill groups")
        self._customers()
        self._widget_and_offers()
        for external_id, username in DEDICATED:
            DedicatedAgent.objects.get_or_create(
                customer=Customer.objects.get(external_id=external_id),
                defaults={"agent": Agent.objects.get(user__username=username)},
            )
        for shortcut, language, title, body in CANNED_REPLIES:
            CannedReply.objects.get_or_create(
                shortcut=shortcut, language=language, defaults={"title": title, "body": body}
            )
        for rule in DEMO_TAG_RULES:
            TagRule.objects.get_or_create(name_zh=rule["name_zh"], defaults=rule)
        added, removed = tag_rules.sweep()
        self.stdout.write(f"automatic tags: {added} added, {removed} removed")
        with open(DEMO_DIR / "kb.jsonl", "rb") as kb:
            articles = import_kb(kb)
        intents = import_intents((DEMO_DIR / "intents.json").read_bytes())
        self.stdout.write(
            f"knowledge base: {articles.created} new and {articles.updated} updated articles, "
            f"{intents.created} new intents"
        )

    def _customers(self):
        """Known customers with orders, for self-service (identity external_id demo-1001, demo-2002)."""
        now = timezone.now()
        for data in DEMO_CUSTOMERS:
            fields = {k: data[k] for k in ("name", "email", "phone", "language", "level")}
            fields.update(
                timezone=data["timezone"],
                birthday=date.fromisoformat(data["birthday"]),
                quiet_start=time.fromisoformat(data["quiet"][0]) if data["quiet"] else None,
                quiet_end=time.fromisoformat(data["quiet"][1]) if data["quiet"] else None,
            )
            customer, _ = Customer.objects.get_or_create(
                external_id=data["external_id"], defaults=fields
            )
            for order in data["orders"]:
                placed = now - timedelta(days=order["days_ago"])
                if Order.objects.filter(number=order["number"]).exists():
                    continue
                upsert_order(
                    customer_id=customer.pk,
                    number=order["number"],
                    status=order["status"],
                    total=order["total"],
                    carrier=order["carrier"],
                    tracking_number=order["tracking_number"],
                    items=order["items"],
                    placed_at=placed,
                    shipped_at=placed + timedelta(hours=20)
                    if order["status"] in ("shipped", "delivered")
                    else None,
                    delivered_at=placed + timedelta(days=3)
                    if order["status"] == "delivered"
                    else None,
                    tracking_events=[
                        {
                            "time": (now - timedelta(days=e["days_ago"])).isoformat(),
                            "place": e["place"],
                            "status": e["status"],
                        }
                        for e in order["events"]
                    ],
                )
            for username, body in data.get("notes", []):
                CustomerNote.objects.get_or_create(
                    customer=customer,
                    body=body,
                    defaults={"author": get_user_model().objects.filter(username=username).first()},
                )
            for name in data.get("tags", []):
                CustomerTag.objects.get_or_create(customer=customer, name=name)

    def _widget_and_offers(self):
        """The demo widget site, invitation rules and recommendation rules (once: what admin
        made of them is kept)."""
        for site in WIDGET_SITES:
            WidgetSite.objects.get_or_create(key=site["key"], defaults=site)
        for rule in INVITATION_RULES:
            InvitationRule.objects.get_or_create(name=rule["name"], defaults=rule)
        for rule in RECOMMENDATION_RULES:
            fields = {k: v for k, v in rule.items() if k != "products"}
            made, is_new = RecommendationRule.objects.get_or_create(
                name=rule["name"], defaults=fields
            )
            if is_new:
                for position, (sku, name_zh, name_en, url) in enumerate(rule.get("products", [])):
                    made.products.create(
                        sku=sku, name_zh=name_zh, name_en=name_en, url=url, position=position
                    )
