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
