"""Partner API: published articles and search (contracts/partner-api.md)."""

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from helpdesk.api_auth import PartnerAPIMixin
from knowledge import selectors
from knowledge.markdown import render_markdown
from knowledge.search import search_articles


class ArticleSerializer(serializers.Serializer):
    slug = serializers.CharField()
    language = serializers.CharField()
    category = serializers.CharField(source="category.slug")
    title = serializers.CharField()
    body = serializers.CharField(help_text="Markdown")
    body_html = serializers.SerializerMethodField(help_text="Sanitised HTML")
    questions = serializers.SerializerMethodField()
    updated_at = serializers.DateTimeField()
    url = serializers.SerializerMethodField()

    def get_body_html(self, article) -> str:
        return str(render_markdown(article.body))

    def get_questions(self, article) -> list[str]:
        return [q.text for q in article.questions.all()]

    def get_url(self, article) -> str:
        return f"/help/a/{article.slug}/?lang={article.language}"


class ArticleHitSerializer(serializers.Serializer):
    article = ArticleSerializer()
    rank = serializers.FloatField()
    title_html = serializers.CharField(help_text="title with <mark>ed terms, escaped")
    excerpt_html = serializers.CharField(help_text="excerpt with <mark>ed terms, escaped")


def _language(request) -> str:
    language = request.query_params.get("language", "zh")
    if language not in ("zh", "en"):
        raise ValidationError({"language": ["must be 'zh' or 'en'"]})
    return language


class ArticleListView(PartnerAPIMixin, APIView):
    required_scope = "knowledge"

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "q", str, description="search words (Chinese or English); omit to list"
            ),
            OpenApiParameter("language", str, enum=["zh", "en"]),
            OpenApiParameter("category", str, description="category slug"),
        ],
        responses=ArticleHitSerializer(many=True),
        description="With `q`: ranked hits `{article, rank, title_html, excerpt_html}`; "
        "without: the published articles of a language.",
        tags=["knowledge"],
    )
    def get(self, request):
        language = _language(request)
        query = request.query_params.get("q", "")
        if len(query) > 200:
            raise ValidationError({"q": ["at most 200 characters"]})
        category = request.query_params.get("category") or None
        if query.strip():
            hits = search_articles(query, language=language, category=category, limit=20)
            return Response({"results": ArticleHitSerializer(hits, many=True).data})
        articles = (
            selectors.published(language).select_related("category").prefetch_related("questions")
        )
        if category:
            articles = articles.filter(category__slug=category)
        return Response(
            {"results": ArticleSerializer(articles.order_by("slug")[:200], many=True).data}
        )


class ArticleDetailView(PartnerAPIMixin, APIView):
    required_scope = "knowledge"

    @extend_schema(
        parameters=[OpenApiParameter("language", str, enum=["zh", "en"])],
        responses=ArticleSerializer,
        tags=["knowledge"],
    )
    def get(self, request, slug: str):
        article = selectors.article(slug, _language(request))
        if article is None:
            raise NotFound("No such article.")
        return Response(ArticleSerializer(article).data)
