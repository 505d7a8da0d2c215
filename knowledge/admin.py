"""The knowledge base back-office."""

from django.contrib import admin, messages
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from knowledge import services
from knowledge.markdown import render_markdown
from knowledge.models import Article, ArticleVersion, Category, Intent, QuestionVariant


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = ["name_zh", "name_en", "slug", "skill_group_code", "position"]
    list_editable = ["position"]
    search_fields = ["name_zh", "name_en", "slug"]


class QuestionInline(admin.TabularInline):
    model = QuestionVariant
    extra = 1
    fields = ["text", "position"]


class VersionInline(admin.TabularInline):
    model = ArticleVersion
    extra = 0
    can_delete = False
    fields = ["number", "title", "status", "created_by", "created_at", "note", "restore"]
    readonly_fields = fields
    ordering = ["-number"]

    def has_add_permission(self, request, obj=None):
        return False

    @admin.display(description=_("restore"))
    def restore(self, version):
        url = reverse("admin:knowledge_article_restore", args=[version.article_id, version.pk])
        return format_html('<a class="button" href="{}">{}</a>', url, _("Restore"))


@admin.register(Article)
class ArticleAdmin(admin.ModelAdmin):
    list_display = [
        "title",
        "slug",
        "language",
        "category",
        "status",
        "version",
        "view_count",
        "helpful_up",
        "helpful_down",
        "updated_at",
    ]
    list_filter = ["status", "language", "category"]
    search_fields = ["title", "slug", "body", "questions__text"]
    list_select_related = ["category"]
    readonly_fields = [
        "preview",
        "version",
        "view_count",
        "helpful_up",
        "helpful_down",
        "published_at",
    ]
    fieldsets = [
        (None, {"fields": ["slug", "language", "category", "title", "status"]}),
        (_("Body"), {"fields": ["body", "preview"]}),
        (
            _("Numbers"),
            {"fields": ["version", "view_count", "helpful_up", "helpful_down", "published_at"]},
        ),
    ]
    inlines = [QuestionInline, VersionInline]
    actions = ["publish", "unpublish", "archive"]

    @admin.display(description=_("preview"))
    def preview(self, article):
        if not article.pk:
            return _("Save to see the preview.")
        return format_html('<div class="lumen-preview">{}</div>', render_markdown(article.body))

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        services.record_edit(form.instance, user=request.user, note="edited in admin")

    def get_urls(self):
        return [
            path(
                "<int:article_id>/restore/<int:version_id>/",
                self.admin_site.admin_view(self.restore_view),
                name="knowledge_article_restore",
            ),
            *super().get_urls(),
        ]

    def restore_view(self, request, article_id, version_id):
        if not self.has_change_permission(request):
            return redirect("admin:index")
        version = get_object_or_404(ArticleVersion, pk=version_id, article_id=article_id)
        if request.method == "POST":
            services.restore_version(version, user=request.user)
            self.message_user(request, _("Version %(n)s restored.") % {"n": version.number})
            return redirect("admin:knowledge_article_change", article_id)
        return TemplateResponse(
            request,
            "admin/knowledge/restore_confirm.html",
            {
                **self.admin_site.each_context(request),
                "version": version,
                "preview": render_markdown(version.body),
                "opts": self.model._meta,
                "title": _("Restore this version?"),
            },
        )

    def _bulk(self, request, queryset, action, done):
        for article in queryset:
            action(article, user=request.user)
        self.message_user(request, done % {"count": queryset.count()}, messages.SUCCESS)

    @admin.action(description=_("Publish selected articles"), permissions=["change"])
    def publish(self, request, queryset):
        self._bulk(request, queryset, services.publish_article, _("%(count)s articles published."))

    @admin.action(
        description=_("Unpublish selected articles (back to draft)"), permissions=["change"]
    )
    def unpublish(self, request, queryset):
        self._bulk(
            request, queryset, services.unpublish_article, _("%(count)s articles unpublished.")
        )

    @admin.action(description=_("Archive selected articles"), permissions=["change"])
    def archive(self, request, queryset):
        self._bulk(request, queryset, services.archive_article, _("%(count)s articles archived."))


@admin.register(Intent)
class IntentAdmin(admin.ModelAdmin):
    list_display = ["name", "skill_group_code", "example_count"]
    search_fields = ["name", "description"]

    @admin.display(description=_("examples"))
    def example_count(self, intent):
        return len(intent.examples_zh) + len(intent.examples_en)
