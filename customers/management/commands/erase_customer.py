"""python manage.py erase_customer <id|external_id> [--no-input]"""

from django.core.management.base import BaseCommand, CommandError

from customers.services import privacy


class Command(BaseCommand):
    help = "Erase one customer's personal data, for good (docs/privacy.md)."

    def add_arguments(self, parser):
        parser.add_argument("customer", help="the customer's id, or the shop's external id")
        parser.add_argument("--no-input", action="store_true", help="do not ask for confirmation")

    def handle(self, *args, **options):
        try:
            customer = privacy.find_customer(options["customer"])
        except privacy.CustomerNotFound as missing:
            raise CommandError(str(missing)) from None
        if not options["no_input"]:
            answer = input(f"Erase customer #{customer.pk} ({customer}) for good? [y/N] ")
            if answer.strip().lower() not in ("y", "yes"):
                raise CommandError("Not erased.")
        try:
            erasure = privacy.erase_customer(customer_id=customer.pk)
        except privacy.ErasureRefused as refused:
            raise CommandError(str(refused)) from None
        if erasure.erased:
            self.stdout.write(f"Customer #{customer.pk} erased ({erasure.files} files deleted).")
        else:
            self.stdout.write(f"Customer #{customer.pk} was erased already: nothing changed.")
