"""python manage.py import_kb FILE.jsonl — the knowledge base, in the format of shared/data."""

from django.core.management.base import BaseCommand, CommandError

from knowledge.services import ImportError_, import_kb


class Command(BaseCommand):
    help = "Import (or update) knowledge-base articles from a JSON-lines file."

    def add_arguments(self, parser):
        parser.add_argument("file")
        parser.add_argument(
            "--draft",
            action="store_true",
            help="Import new articles as drafts instead of published.",
        )

    def handle(self, *args, **options):
        try:
            with open(options["file"], "rb") as handle:
                result = import_kb(handle, publish=not options["draft"])
        except OSError as error:
            raise CommandError(f"cannot read {options['file']}: {error.strerror}") from None
        except ImportError_ as error:
            lines = "\n".join(f"  line {number}: {message}" for number, message in error.errors)
            raise CommandError(f"nothing was imported; fix these lines:\n{lines}") from None
        self.stdout.write(
            f"articles: {result.created} created, {result.updated} updated, {result.unchanged} unchanged"
        )
