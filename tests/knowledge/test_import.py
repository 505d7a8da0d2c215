"""import_kb / import_intents: re-import updates, bad lines leave nothing."""

import json

import pytest
from django.core.management import CommandError, call_command

from knowledge.demo import DEMO_DIR
from knowledge.models import Article, ArticleVersion, Category, Intent, QuestionVariant

pytestmark = pytest.mark.django_db


def _line(**overrides) -> str:
    record = {
        "slug": "returns-policy",
        "language": "zh",
        "category": "Returns & Refunds",
        "title": "退货政策",
        "body": "7 天无理由退货。",
        "questions": ["能退货吗？"],
    }
    return json.dumps({**record, **overrides}, ensure_ascii=False)


def test_the_demo_kb_imports_all_80_articles_published(capsys):
    call_command("import_kb", str(DEMO_DIR / "kb.jsonl"))

    assert Article.objects.filter(status="published").count() == 80
    assert Category.objects.count() == 14
    assert QuestionVariant.objects.count() > 80
    assert "80 created" in capsys.readouterr().out


def test_reimporting_updates_in_place_and_never_duplicates(tmp_path):
    path = tmp_path / "kb.jsonl"
    path.write_text(_line() + "\n", encoding="utf-8")
    call_command("import_kb", str(path))
    path.write_text(_line(title="退货政策（新）") + "\n", encoding="utf-8")

    call_command("import_kb", str(path))
    call_command("import_kb", str(path))

    article = Article.objects.get()
    assert article.title == "退货政策（新）"
    assert ArticleVersion.objects.filter(article=article).count() == 2


@pytest.mark.parametrize(
    "bad, message",
    [
        ("{not json", "line 2"),
        ('["a list"]', "not a JSON object"),
        (_line(language="fr"), "'language'"),
        (_line(slug="Bad Slug!"), "slug"),
        (_line(title=""), "'title' is missing"),
        (_line(questions="one"), "'questions'"),
        (_line(body=12), "'body' must be a string"),
    ],
)
def test_a_bad_line_is_reported_with_its_number_and_nothing_is_imported(tmp_path, bad, message):
    path = tmp_path / "kb.jsonl"
    path.write_text(_line(slug="first") + "\n" + bad + "\n", encoding="utf-8")

    with pytest.raises(CommandError) as error:
        call_command("import_kb", str(path))

    assert "line 2" in str(error.value)
    assert message in str(error.value)
    assert not Article.objects.exists()
    assert not Category.objects.exists()


def test_a_missing_file_is_a_clear_error():
    with pytest.raises(CommandError, match="cannot read"):
        call_command("import_kb", "/nonexistent/kb.jsonl")


def test_intents_import_and_reimport(tmp_path):
    call_command("import_intents", str(DEMO_DIR / "intents.json"))
    count = Intent.objects.count()

    call_command("import_intents", str(DEMO_DIR / "intents.json"))

    assert Intent.objects.count() == count == 7
    assert Intent.objects.get(name="order_status").slots[0]["name"] == "order_number"


@pytest.mark.parametrize(
    "content", ["{}", "[1]", '[{"name": "x y"}]', "nope", '[{"name": "a"}, {"name": "a"}]']
)
def test_bad_intent_files_import_nothing(tmp_path, content):
    path = tmp_path / "intents.json"
    path.write_text(content)

    with pytest.raises(CommandError, match="nothing was imported"):
        call_command("import_intents", str(path))

    assert not Intent.objects.exists()
