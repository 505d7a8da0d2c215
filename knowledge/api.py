"""Partner API: published articles and search (contracts/partner-api.md)."""

from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    PolymorphicProxySerializer,
    extend_schema,
    inline_serializer,
)
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


ARTICLE_EXAMPLE = {
    "slug": "return-policy",
    "language": "zh",
    "category": "after-sales",
    "title": "退货政策",
    "body": "收到商品 7 天内可无理由退货……",
    "body_html": "<p>收到商品 7 天内可无理由退货……</p>",
    "questions": ["怎么退货？", "退货要运费吗？"],
    "updated_at": "2026-12-01T08:00:00Z",
    "url": "/help/a/return-policy/?lang=zh",
}


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
        operation_id="v1_knowledge_articles_list",
        responses=inline_serializer(
            "ArticleResults",
            fields={
                "results": PolymorphicProxySerializer(
                    component_name="ArticleOrHit",
                    serializers=[ArticleHitSerializer, ArticleSerializer],
                    resource_type_field_name=None,
                    many=True,
                )
            },
        ),
        description="With `q`: ranked hits `{article, rank, title_html, excerpt_html}`; "
        "without: the published articles of a language.",
        examples=[
            OpenApiExample(
                "Search hits",
                value={
                    "results": [
                        {
                            "article": ARTICLE_EXAMPLE,
                            "rank": 0.82,
                            "title_html": "<mark>退货</mark>政策",
                            "excerpt_html": "收到商品 7 天内可无理由<mark>退货</mark>……",
                        }
                    ]
                },
                response_only=True,
            ),
            OpenApiExample(
                "Published articles", value={"results": [ARTICLE_EXAMPLE]}, response_only=True
            ),
        ],
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
        examples=[OpenApiExample("An article", value=ARTICLE_EXAMPLE, response_only=True)],
        tags=["knowledge"],
    )
    def get(self, request, slug: str):
        article = selectors.article(slug, _language(request))
        if article is None:
            raise NotFound("No such article.")
        return Response(ArticleSerializer(article).data)
