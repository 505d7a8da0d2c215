"""python manage.py export_customer <id|external_id> [--output FILE]"""

import json

from django.core.management.base import BaseCommand, CommandError
from django.core.serializers.json import DjangoJSONEncoder

from customers.services import privacy


class Command(BaseCommand):
    help = "Everything held about one customer, as JSON (docs/privacy.md)."

    def add_arguments(self, parser):
        parser.add_argument("customer", help="the customer's id, or the shop's external id")
        parser.add_argument("--output", "-o", help="write to this file instead of stdout")

    def handle(self, *args, **options):
        try:
            customer = privacy.find_customer(options["customer"])
        except privacy.CustomerNotFound as missing:
            raise CommandError(str(missing)) from None
        text = json.dumps(
            privacy.export_customer(customer), cls=DjangoJSONEncoder, ensure_ascii=False, indent=2
        )
        if options["output"]:
            with open(options["output"], "w", encoding="utf-8") as output:
                output.write(text + "\n")
        else:
            self.stdout.write(text)
