"""python manage.py create_api_key --name NAME --scopes SCOPE[,SCOPE…] [--expires-days N]"""

from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from helpdesk.api_keys import issue_api_key
from helpdesk.models import SCOPES


class Command(BaseCommand):
    help = "Create a partner API key and print it once."

    def add_arguments(self, parser):
        parser.add_argument("--name", required=True)
        parser.add_argument(
            "--scopes", required=True, help="comma-separated: " + ",".join(s for s, _ in SCOPES)
        )
        parser.add_argument("--expires-days", type=int, default=None)

    def handle(self, *args, **options):
        scopes = [s.strip() for s in options["scopes"].split(",") if s.strip()]
        unknown = sorted(set(scopes) - {s for s, _ in SCOPES})
        if not scopes or unknown:
            raise CommandError(f"unknown scopes: {', '.join(unknown) or '(none given)'}")
        days = options["expires_days"]
        if days is not None and days <= 0:
            raise CommandError("--expires-days must be positive")
        expires = timezone.now() + timedelta(days=days) if days else None
        key, raw = issue_api_key(name=options["name"][:100], scopes=scopes, expires_at=expires)
        self.stdout.write(f"API key for {key.name} (scopes: {', '.join(key.scopes)}):\n{raw}\n")
        self.stdout.write("Store it now: it is shown only once.")
