"""The knowledge base back-office."""

import json

from django.contrib import admin, messages
from django.http import Http404, JsonResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from helpdesk.admin_tools import ReadOnlyInline
from knowledge import jobs, services
from knowledge.markdown import render_markdown
from knowledge.models import (
    Article,
    ArticleVersion,
    Category,
    Intent,
    QuestionVariant,
    UnansweredQuestion,
)


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = ["name_zh", "name_en", "slug", "skill_group_code", "position"]
    list_editable = ["position"]
    search_fields = ["name_zh", "name_en", "slug"]


class QuestionInline(admin.TabularInline):
    model = QuestionVariant
    extra = 1
    fields = ["text", "position"]


class VersionInline(ReadOnlyInline):
    model = ArticleVersion
    fields = ["number", "title", "status", "created_by", "created_at", "note", "restore"]
    ordering = ["-number"]

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
            path("ask/", self.admin_site.admin_view(self.ask_view), name="knowledge_article_ask"),
            path(
                "import/",
                self.admin_site.admin_view(self.import_view),
                name="knowledge_article_import",
            ),
            path(
                "import/<uuid:job_id>/",
                self.admin_site.admin_view(self.import_progress),
                name="knowledge_article_import_progress",
            ),
            *super().get_urls(),
        ]

    def ask_view(self, request):
        """ "Ask the bot": what it would answer to a question, and why (its scores)."""
        if not self.has_view_permission(request):
            return redirect("admin:index")
        question = request.GET.get("q", "")[:500]
        language = (
            request.GET.get("language") if request.GET.get("language") in ("zh", "en") else None
        )
        decision = None
        if question.strip():
            from knowledge.assistant import understand
            from knowledge.bot import Context

            decision = understand(question, language=language, context=Context())
        return TemplateResponse(
            request,
            "admin/knowledge/ask.html",
            {
                **self.admin_site.each_context(request),
                "opts": self.model._meta,
                "title": _("Ask the bot"),
                "question": question,
                "language": language or "",
                "decision": decision,
                "scores": json.dumps(decision.scores, ensure_ascii=False, indent=2, default=str)
                if decision
                else "",
            },
        )

    def import_view(self, request):
        """Upload a kb.jsonl or intents.json; the import runs in the background with progress."""
        if not self.has_add_permission(request):
            return redirect("admin:index")
        error = None
        if request.method == "POST":
            upload = request.FILES.get("file")
            kind = request.POST.get("kind")
            if upload is None or kind not in ("kb", "intents"):
                error = _("Choose a file and what it holds.")
            elif upload.size > 50 * 1024 * 1024:
                error = _("The file is larger than 50 MiB.")
            else:
                job_id = jobs.start_import(
                    kind=kind, content=upload.read(), user_id=request.user.pk
                )
                return redirect("admin:knowledge_article_import_progress", job_id)
        return TemplateResponse(
            request,
            "admin/knowledge/import.html",
            {
                **self.admin_site.each_context(request),
                "opts": self.model._meta,
                "title": _("Import the knowledge base"),
                "error": error,
            },
        )

    def import_progress(self, request, job_id):
        if not self.has_add_permission(request):
            return redirect("admin:index")
        state = jobs.import_state(job_id)
        if state is None:
            raise Http404
        if request.headers.get("Accept") == "application/json":
            return JsonResponse(state)
        return TemplateResponse(
            request,
            "admin/knowledge/import_progress.html",
            {
                **self.admin_site.each_context(request),
                "opts": self.model._meta,
                "title": _("Importing…"),
                "state": state,
                "job_id": job_id,
            },
        )

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


@admin.register(UnansweredQuestion)
class UnansweredQuestionAdmin(admin.ModelAdmin):
    """Questions the bot could not settle, grouped by similarity: candidates for new FAQs."""

    list_display = [
        "text",
        "language",
        "outcome",
        "group_size",
        "closest_article",
        "has_reply",
        "handled",
        "created_at",
    ]
    list_filter = ["handled", "outcome", "language"]
    search_fields = ["text", "agent_reply", "group_key"]
    readonly_fields = [f.name for f in UnansweredQuestion._meta.fields]
    actions = ["add_as_question", "draft_article", "mark_handled"]
    ordering = ["handled", "group_key", "-created_at"]

    def get_queryset(self, request):
        from django.db.models import Count, OuterRef, Subquery

        sizes = (
            UnansweredQuestion.objects.filter(group_key=OuterRef("group_key"), handled=False)
            .values("group_key")
            .annotate(n=Count("pk"))
            .values("n")
        )
        return super().get_queryset(request).annotate(size=Subquery(sizes))

    @admin.display(description=_("similar"), ordering="size")
    def group_size(self, question):
        return question.size or 1

    @admin.display(description=_("agent's reply"), boolean=True)
    def has_reply(self, question):
        return bool(question.agent_reply)

    def has_add_permission(self, request):
        return False

    @admin.action(
        description=_("Add as a question variant of the closest article"), permissions=["change"]
    )
    def add_as_question(self, request, queryset):
        added = services.adopt_questions(list(queryset), user=request.user)
        self.message_user(
            request, _("%(count)s questions added to their articles.") % {"count": added}
        )

    @admin.action(
        description=_("Draft a new article from the agent's reply"), permissions=["change"]
    )
    def draft_article(self, request, queryset):
        drafts = services.draft_articles_from_replies(list(queryset), user=request.user)
        self.message_user(request, _("%(count)s article drafts created.") % {"count": drafts})

    @admin.action(description=_("Mark as handled"), permissions=["change"])
    def mark_handled(self, request, queryset):
        self.message_user(
            request, _("%(count)s marked as handled.") % {"count": queryset.update(handled=True)}
        )
