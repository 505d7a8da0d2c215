"""python manage.py bot_eval FILE.jsonl [--json] — how right the bot is, measured.

Each labelled question (the format of knowledge/demo/dev.jsonl) is asked as
the first message of a fresh conversation, through the same code as the live
chat (open_chat_session → post_customer_message → bot_turn), and the bot's
reply is scored as data/README.md says. Everything runs in one transaction
that is rolled back: nothing is left behind and nothing is published.
"""

import json

from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from conversations.services import bot_turn, open_chat_session, post_customer_message
from knowledge.bot import Decision
from knowledge.bot.evaluate import KINDS, is_right, load_rows


class Command(BaseCommand):
    help = "Measure the bot on labelled questions: accuracy per kind and overall, and the misses."

    def add_arguments(self, parser):
        parser.add_argument("file")
        parser.add_argument("--json", action="store_true", help="print only one JSON object")

    def handle(self, *args, **options):
        try:
            rows = load_rows(options["file"])
        except OSError as error:
            raise CommandError(f"cannot read {options['file']}: {error.strerror}") from None
        except ValueError as error:
            raise CommandError(f"not a JSON-lines file: {error}") from None
        right = {kind: 0 for kind in KINDS}
        total = {kind: 0 for kind in KINDS}
        misses = []
        with transaction.atomic():
            for number, row in enumerate(rows, start=1):
                expect = row.get("expect") or {}
                kind = expect.get("kind")
                if kind not in KINDS or not isinstance(row.get("text"), str):
                    raise CommandError(f"line {number}: needs 'text' and 'expect.kind' in {KINDS}")
                language = "en" if row.get("lang") == "en" else "zh"
                session = open_chat_session(channel="web", language=language)
                message, _ = post_customer_message(
                    conversation_id=session.conversation.id,
                    client_id=f"eval-{number}",
                    body=row["text"],
                )
                reply = bot_turn(conversation_id=session.conversation.id, message_id=message.id)
                meta = reply.meta if reply else {}
                decision = Decision(
                    action=meta.get("action") or "none",
                    intent=meta.get("intent"),
                    article=meta.get("article"),
                    slots=meta.get("slots") or {},
                )
                total[kind] += 1
                if is_right(expect, decision):
                    right[kind] += 1
                else:
                    misses.append({"text": row["text"], "expect": expect, "got": meta})
            transaction.set_rollback(True)
        n = sum(total.values())
        result = {
            kind: round(right[kind] / total[kind], 4) if total[kind] else None for kind in KINDS
        }
        result["overall"] = round(sum(right.values()) / n, 4) if n else None
        result["n"] = n
        if options["json"]:
            self.stdout.write(json.dumps(result))
            return
        for kind in (*KINDS, "overall"):
            value = result[kind]
            count = (
                f"{right[kind]}/{total[kind]}" if kind in right else f"{sum(right.values())}/{n}"
            )
            self.stdout.write(
                f"{kind:<8} {value:7.1%}  ({count})" if value is not None else f"{kind:<8}       -"
            )
        for miss in misses:
            self.stdout.write("MISS " + json.dumps(miss, ensure_ascii=False))
