"""The public help centre (/help/): categories, articles, search, "was this helpful"."""

from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from helpdesk.languages import activate_from_query, content_language
from knowledge import selectors, services
from knowledge.markdown import render_markdown
from knowledge.models import Category
from knowledge.search import search_articles


def help_home(request):
    activate_from_query(request)
    language = content_language()
    return render(
        request,
        "knowledge/help_home.html",
        {"categories": selectors.categories_with_articles(language), "language": language},
    )


def help_category(request, slug: str):
    activate_from_query(request)
    language = content_language()
    category = get_object_or_404(Category, slug=slug)
    articles = selectors.published(language).filter(category=category).order_by("title")
    return render(
        request,
        "knowledge/help_category.html",
        {"category": category, "articles": articles, "language": language},
    )


def help_search(request):
    activate_from_query(request)
    language = content_language()
    query = request.GET.get("q", "")[:200]
    category = request.GET.get("category") or None
    hits = (
        search_articles(query, language=language, category=category, limit=20)
        if query.strip()
        else []
    )
    return render(
        request,
        "knowledge/help_search.html",
        {
            "query": query,
            "hits": hits,
            "language": language,
            "categories": Category.objects.all(),
            "category": category,
        },
    )


def help_article(request, slug: str):
    activate_from_query(request)
    language = content_language()
    article = selectors.article(slug, language)
    if article is None:
        raise Http404(_("This article does not exist."))
    services.record_view(article)
    voted = slug in request.session.get("helpful_votes", [])
    return render(
        request,
        "knowledge/help_article.html",
        {
            "article": article,
            "body": render_markdown(article.body),
            "language": language,
            "other_language": article.language != language,
            "voted": voted,
        },
    )


@require_POST
def help_feedback(request, slug: str):
    article = selectors.article(slug, content_language())
    if article is None:
        raise Http404(_("This article does not exist."))
    votes = request.session.get("helpful_votes", [])
    if slug not in votes and request.POST.get("helpful") in ("yes", "no"):
        services.record_feedback(article, helpful=request.POST["helpful"] == "yes")
        request.session["helpful_votes"] = [*votes[-200:], slug]
    return redirect("help:article", slug=slug)
