"""python manage.py export_kb FILE.jsonl — the knowledge base in the import format."""

import json

from django.core.management.base import BaseCommand, CommandError

from knowledge.models import Article


class Command(BaseCommand):
    help = "Export articles (published by default) as JSON lines that import_kb reads back."

    def add_arguments(self, parser):
        parser.add_argument("file")
        parser.add_argument("--all", action="store_true", help="drafts and archived articles too")

    def handle(self, *args, **options):
        articles = (
            Article.objects.select_related("category")
            .prefetch_related("questions")
            .order_by("slug", "language")
        )
        if not options["all"]:
            articles = articles.filter(status=Article.Status.PUBLISHED)
        try:
            with open(options["file"], "w", encoding="utf-8") as out:
                for article in articles:
                    record = {
                        "slug": article.slug,
                        "language": article.language,
                        "category": article.category.name_en,
                        "title": article.title,
                        "body": article.body,
                        "questions": [q.text for q in article.questions.all()],
                    }
                    out.write(json.dumps(record, ensure_ascii=False) + "\n")
        except OSError as error:
            raise CommandError(f"cannot write {options['file']}: {error.strerror}") from None
        self.stdout.write(f"exported {articles.count()} articles")
