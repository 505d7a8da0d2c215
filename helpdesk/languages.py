"""Django's language codes (zh-hans, en) ↔ the content languages (zh, en)."""

from django.utils import translation


def content_language(code: str | None = None) -> str:
    code = code or translation.get_language() or "zh-hans"
    return "en" if code.startswith("en") else "zh"


def django_language(content: str) -> str:
    return "en" if content == "en" else "zh-hans"


def activate_from_query(request) -> None:
    """?lang=zh|en on a public page switches its language for this request."""
    requested = request.GET.get("lang")
    if requested in ("zh", "en"):
        translation.activate(django_language(requested))
        request.LANGUAGE_CODE = translation.get_language()


class BilingualName:
    """For a model with `name_zh` and `name_en`: its name in the active language."""

    name_zh: str
    name_en: str

    @property
    def name(self) -> str:
        return self.name_in(content_language())

    def name_in(self, language: str) -> str:
        return self.name_en if language == "en" else self.name_zh
