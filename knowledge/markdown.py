"""Article bodies: Markdown in, safe HTML out."""

import html
import re

import markdown as md
import nh3
from django.utils.safestring import SafeString, mark_safe

ALLOWED_TAGS = {
    "p",
    "br",
    "strong",
    "em",
    "b",
    "i",
    "ul",
    "ol",
    "li",
    "a",
    "h2",
    "h3",
    "h4",
    "blockquote",
    "code",
    "pre",
    "hr",
    "table",
    "thead",
    "tbody",
    "tr",
    "th",
    "td",
}
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "th": {"align"}, "td": {"align"}}
ALLOWED_SCHEMES = {"http", "https", "mailto"}


def render_markdown(body: str) -> SafeString:
    """Render Markdown, then keep only harmless tags, attributes and link schemes.

    Raw HTML in the source is escaped by nh3's allow-list; `javascript:` and
    `data:` links lose their href; every link gets rel="noopener noreferrer".
    """
    html = md.markdown(body, extensions=["tables", "sane_lists"], output_format="html")
    cleaned = nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=ALLOWED_SCHEMES,
        link_rel="noopener noreferrer",
    )
    return mark_safe(cleaned)  # noqa: S308 (sanitised just above)


_LINK = re.compile(r"!?\[([^\]]*)\]\([^)]*\)")
_LINE_MARKS = re.compile(r"^\s*(?:#{1,6}\s*|>\s?|[-*+]\s+|\d+[.)]\s+)", re.MULTILINE)
_INLINE_MARKS = re.compile(r"[*_`~|]+|<[^>\n]*>")


def plain_text(body: str) -> str:
    """The words of a Markdown body, for search and excerpts (fast, no HTML parsing)."""
    text = _LINK.sub(r"\1", body)
    text = _LINE_MARKS.sub("", text)
    return html.unescape(_INLINE_MARKS.sub("", text)).strip()
