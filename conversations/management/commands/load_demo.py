"""Demo data for `make run`: skill groups, a supervisor and three agents.

Idempotent: running it again changes nothing (existing passwords are kept).
"""

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand
from django.db import transaction

from conversations.demo import DEMO_PASSWORD, SKILL_GROUPS, STAFF
from conversations.models import Agent, SkillGroup
from conversations.roles import SUPERVISORS, ensure_roles
from knowledge.demo import DEMO_DIR
from knowledge.services import import_intents, import_kb


class Command(BaseCommand):
    help = "Load the demo shop's staff and skill groups (idempotent)."

    @transaction.atomic
    def handle(self, *args, **options):
        ensure_roles()
        groups = {}
        for code, name_zh, name_en in SKILL_GROUPS:
            groups[code], _ = SkillGroup.objects.get_or_create(
                code=code, defaults={"name_zh": name_zh, "name_en": name_en}
            )
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
        self.stdout.write(f"demo data: {created} new staff accounts, {len(groups)} skill groups")
        with open(DEMO_DIR / "kb.jsonl", "rb") as kb:
            articles = import_kb(kb)
        intents = import_intents((DEMO_DIR / "intents.json").read_bytes())
        self.stdout.write(
            f"knowledge base: {articles.created} new and {articles.updated} updated articles, "
            f"{intents.created} new intents"
        )
