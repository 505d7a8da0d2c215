"""python manage.py import_intents FILE.json — intents, in the format of shared/data."""

from django.core.management.base import BaseCommand, CommandError

from knowledge.services import ImportError_, import_intents


class Command(BaseCommand):
    help = "Import (or update) intents from a JSON file."

    def add_arguments(self, parser):
        parser.add_argument("file")

    def handle(self, *args, **options):
        try:
            with open(options["file"], "rb") as handle:
                result = import_intents(handle.read())
        except OSError as error:
            raise CommandError(f"cannot read {options['file']}: {error.strerror}") from None
        except ImportError_ as error:
            lines = "\n".join(f"  {message}" for _, message in error.errors)
            raise CommandError(f"nothing was imported; fix these:\n{lines}") from None
        self.stdout.write(
            f"intents: {result.created} created, {result.updated} updated, {result.unchanged} unchanged"
        )
