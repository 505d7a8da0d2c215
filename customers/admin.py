import json

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models, transaction
from django.db.models import Count, Q
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from customers import events
from customers.models import (
    AfterSalesRequest,
    CareCampaign,
    Coupon,
    Customer,
    CustomerIdentity,
    CustomerMerge,
    CustomerNote,
    CustomerTag,
    Invitation,
    InvitationRule,
    LevelChange,
    Order,
    Outreach,
    PointsEntry,
    Recommendation,
    RecommendationRule,
    RecommendedProduct,
    TagRule,
)
from customers.services import privacy, tag_rules
from customers.services.care import render
from customers.services.merge import (
    MergeRefused,
    merge_customers,
    merge_preview,
    unmerge_customers,
)
from customers.services.profiles import change_profile
from helpdesk.admin_tools import ReadOnlyInline


class OrderInline(ReadOnlyInline):
    model = Order
    fields = ["number", "status", "total", "carrier", "tracking_number", "placed_at"]
    show_change_link = True


class CustomerTagInline(admin.TabularInline):
    model = CustomerTag
    extra = 0
    fields = ["name", "source", "rule", "detail", "created_by", "created_at"]
    readonly_fields = ["source", "rule", "detail", "created_by", "created_at"]

    def has_change_permission(self, request, obj=None) -> bool:
        return False  # a tag is added or removed, never edited (an automatic one: by its rule)


class CustomerIdentityInline(ReadOnlyInline):
    model = CustomerIdentity
    fields = ["kind", "value", "verified", "verified_by", "verified_at", "source", "created_at"]


class PointsEntryInline(ReadOnlyInline):
    model = PointsEntry
    fields = ["points", "reason", "key", "created_at"]


class LevelChangeInline(ReadOnlyInline):
    model = LevelChange
    fields = ["old", "new", "source", "changed_by", "created_at"]


class CustomerNoteInline(admin.StackedInline):
    model = CustomerNote
    extra = 0
    fields = ["body", "author", "last_edited_by", "created_at", "updated_at"]
    readonly_fields = ["author", "last_edited_by", "created_at", "updated_at"]


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    list_display = [
        "display_name",
        "external_id",
        "level",
        "segment",
        "email",
        "phone",
        "language",
        "created_at",
    ]
    list_filter = ["segment", "level", "language"]
    search_fields = ["name", "external_id", "email", "phone"]
    date_hierarchy = "created_at"
    inlines = [
        CustomerIdentityInline,
        CustomerTagInline,
        CustomerNoteInline,
        OrderInline,
        PointsEntryInline,
        LevelChangeInline,
    ]
    readonly_fields = ["points", "segment", "conversation_count", "erased_at"]
    actions = ["merge_two"]

    def get_urls(self):
        return [
            path(
                "merge/",
                self.admin_site.admin_view(self.merge_view),
                name="customers_customer_merge",
            ),
            path(
                "<path:object_id>/export/",
                self.admin_site.admin_view(self.export_view),
                name="customers_customer_export",
            ),
            path(
                "<path:object_id>/erase/",
                self.admin_site.admin_view(self.erase_view),
                name="customers_customer_erase",
            ),
            *super().get_urls(),
        ]

    @admin.action(
        description=_("Merge the two selected customers…"),
        permissions=["merge"],
    )
    def merge_two(self, request, queryset):
        ids = sorted(queryset.values_list("pk", flat=True)[:3])
        if len(ids) != 2:
            self.message_user(request, _("Choose exactly two customers."), messages.ERROR)
            return None
        return HttpResponseRedirect(
            reverse("admin:customers_customer_merge") + f"?a={ids[0]}&b={ids[1]}"
        )

    def has_merge_permission(self, request) -> bool:
        return request.user.has_perm("customers.merge_customers")

    def change_view(self, request, object_id, form_url="", extra_context=None):
        return super().change_view(
            request,
            object_id,
            form_url,
            {
                **(extra_context or {}),
                "can_export_customer": request.user.has_perm("customers.export_customer"),
                "can_erase_customer": request.user.has_perm("customers.erase_customer"),
            },
        )

    def export_view(self, request, object_id):
        """Everything held about the customer, downloaded as customer-<id>.json
        (supervisors: the export_customer permission)."""
        if not request.user.has_perm("customers.export_customer"):
            raise PermissionDenied
        customer = _customer_or_404(object_id)
        document = privacy.export_customer(customer, by=request.user)
        response = HttpResponse(
            json.dumps(document, cls=DjangoJSONEncoder, ensure_ascii=False, indent=2),
            content_type="application/json; charset=utf-8",
        )
        response["Content-Disposition"] = f'attachment; filename="customer-{customer.pk}.json"'
        response["X-Content-Type-Options"] = "nosniff"
        return response

    def erase_view(self, request, object_id):
        """The erasure's confirmation page, then the erasure (supervisors: the
        erase_customer permission). An erased customer's page says so."""
        if not request.user.has_perm("customers.erase_customer"):
            raise PermissionDenied
        customer = _customer_or_404(object_id)
        change_page = reverse("admin:customers_customer_change", args=[customer.pk])
        if customer.erased_at is not None:
            self.message_user(request, gettext("This customer was erased already."))
            return HttpResponseRedirect(change_page)
        error, status = "", 200
        if request.method == "POST":
            if request.POST.get("confirm") != "yes":
                error, status = gettext("Tick the box to confirm the erasure."), 400
            else:
                try:
                    erasure = privacy.erase_customer(customer_id=customer.pk, by=request.user)
                except privacy.ErasureRefused as refused:
                    error, status = str(refused), 409
                else:
                    self.message_user(
                        request,
                        gettext("Customer %(number)s was erased (%(n)s files deleted).")
                        % {"number": customer.pk, "n": erasure.files},
                    )
                    return HttpResponseRedirect(change_page)
        return TemplateResponse(
            request,
            "admin/customers/customer/erase.html",
            {
                **self.admin_site.each_context(request),
                "opts": self.model._meta,
                "title": gettext("Erase a customer's personal data"),
                "customer": customer,
                "counts": {
                    "conversations": customer.conversation_count,
                    "identities": customer.identities.count(),
                    "notes": customer.notes.count(),
                },
                "error": error,
            },
            status=status,
        )

    def merge_view(self, request):
        """Merge two customers by hand: both side by side with what each would bring,
        which one stays, why; then the merge."""
        if not self.has_merge_permission(request):
            raise PermissionDenied
        data = request.POST if request.method == "POST" else request.GET
        pair = [_customer_or_404(data.get(name)) for name in ("a", "b")]
        if pair[0].pk == pair[1].pk:
            raise Http404
        error, status = "", 200
        if request.method == "POST":
            keep = data.get("keep", "")
            reason = data.get("reason", "")
            if keep not in {str(pair[0].pk), str(pair[1].pk)}:
                error = gettext("Choose the customer who stays.")
            elif len(reason) > 500:
                error = gettext("The reason is at most 500 characters.")
            else:
                target = pair[0] if keep == str(pair[0].pk) else pair[1]
                source = pair[1] if target is pair[0] else pair[0]
                try:
                    merge = merge_customers(
                        source_id=source.pk,
                        target_id=target.pk,
                        how=CustomerMerge.How.ADMIN,
                        by=request.user,
                        reason=reason,
                    )
                except MergeRefused as refused:
                    error = str(refused)
                else:
                    self.message_user(
                        request,
                        gettext("%(gone)s was merged into %(kept)s (%(n)s rows moved).")
                        % {"gone": merge.merged_name, "kept": target, "n": merge.moved_count()},
                    )
                    return redirect("admin:customers_customer_change", target.pk)
            status = 400
        sides = [
            {
                "customer": customer,
                "other": other,
                "brings": merge_preview(source=other, target=customer),
            }
            for customer, other in ((pair[0], pair[1]), (pair[1], pair[0]))
        ]
        return TemplateResponse(
            request,
            "admin/customers/customer/merge.html",
            {
                **self.admin_site.each_context(request),
                "opts": self.model._meta,
                "title": gettext("Merge two customers"),
                "sides": sides,
                "pair": pair,
                "error": error,
                "reason": data.get("reason", "")[:500],
            },
            status=status,
        )

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        """A save is one change: the fields (change_profile), the tags and notes inlines,
        told to `customer.updated` subscribers once, as it all ends up (or not at all)."""
        if request.method != "POST" or not (object_id or "").isdecimal():
            return super().changeform_view(request, object_id, form_url, extra_context)
        with transaction.atomic():
            Customer.objects.select_for_update().filter(pk=object_id).first()
            with events.announcing(int(object_id)):
                return super().changeform_view(request, object_id, form_url, extra_context)

    def save_model(self, request, obj, form, change):
        """An edit goes through change_profile: a level changed with its history and the
        congratulation on an upgrade, partners told."""
        if not change:
            super().save_model(request, obj, form, change)
            return
        change_profile(
            customer_id=obj.pk,
            changes={name: form.cleaned_data[name] for name in form.changed_data},
            changed_by=request.user,
        )
        obj.refresh_from_db()

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        if not change:  # a new customer, told with its tags
            events.customer_created(form.instance.pk)


def _customer_or_404(value) -> Customer:
    if not isinstance(value, str) or not value.isascii() or not value.isdecimal():
        raise Http404
    customer = Customer.objects.filter(pk=int(value)).first()
    if customer is None:
        raise Http404
    return customer


@admin.register(Order)
class OrderAdmin(admin.ModelAdmin):
    list_display = [
        "number",
        "customer",
        "status",
        "total",
        "carrier",
        "tracking_number",
        "placed_at",
    ]
    list_filter = ["status", "carrier"]
    search_fields = ["number", "tracking_number", "customer__name", "customer__external_id"]
    raw_id_fields = ["customer"]
    list_select_related = ["customer"]

    def save_model(self, request, obj, form, change):
        previous = form.initial.get("customer") if change else None
        super().save_model(request, obj, form, change)
        tag_rules.order_changed(order=obj, previous_customer_id=previous)


@admin.register(Coupon)
class CouponAdmin(admin.ModelAdmin):
    list_display = ["code", "customer", "campaign", "amount", "expires_at", "redeemed_at"]
    list_filter = ["campaign"]
    search_fields = ["code", "customer__name", "customer__external_id"]
    raw_id_fields = ["customer"]


@admin.register(AfterSalesRequest)
class AfterSalesRequestAdmin(admin.ModelAdmin):
    list_display = ["number", "customer", "order", "kind", "reason", "status", "created_at"]
    list_filter = ["status", "kind", "reason"]
    search_fields = ["number", "order__number", "customer__name"]
    raw_id_fields = ["customer", "order"]


# A customer the campaigns' previews are written to.
PREVIEW_CUSTOMER = Customer(name="王芳")


@admin.register(CareCampaign)
class CareCampaignAdmin(admin.ModelAdmin):
    list_display = [
        "kind",
        "enabled",
        "delay_minutes",
        "expire_hours",
        "every_days",
        "reward_points",
    ]
    list_editable = ["enabled"]
    readonly_fields = ["preview"]
    fields = [
        "kind",
        "enabled",
        "delay_minutes",
        "expire_hours",
        "every_days",
        "reward_points",
        "coupon_amount",
        "coupon_days",
        "subject_zh",
        "text_zh",
        "subject_en",
        "text_en",
        "preview",
    ]

    @admin.display(description=_("preview"))
    def preview(self, obj: CareCampaign) -> str:
        if obj.pk is None:
            return "–"
        sample_order = Order(
            number="LM20261103", carrier="顺丰速运", tracking_number="SF1234567890"
        )
        sample_coupon = Coupon(code="BDAY8K2Q", amount=obj.coupon_amount)
        samples = {
            "customer": PREVIEW_CUSTOMER,
            "order": sample_order,
            "coupon": sample_coupon if obj.coupon_amount else None,
            "level": Customer.Level.GOLD,
            "ticket": "T-000123",
        }
        rows = [
            (
                label,
                render(obj, language=language, subject=True, **samples),
                render(obj, language=language, **samples),
            )
            for label, language in (("中文", "zh-hans"), ("English", "en"))
        ]
        return format_html_join("", "<p><strong>{}</strong>: <em>{}</em><br>{}</p>", rows)


@admin.register(Outreach)
class OutreachAdmin(admin.ModelAdmin):
    """What the campaigns claimed and how it went; "being sent" ones are emails a worker
    may have lost between sending and recording (never sent twice)."""

    list_display = ["campaign", "customer", "occasion", "status", "channel", "due_at", "sent_at"]
    list_filter = ["campaign", "status", "channel"]
    search_fields = ["occasion", "customer__name", "customer__external_id"]
    raw_id_fields = ["customer"]
    list_select_related = ["campaign", "customer"]
    readonly_fields = [
        "campaign",
        "customer",
        "occasion",
        "due_at",
        "expires_at",
        "status",
        "channel",
        "detail",
        "subject",
        "conversation_id",
        "created_at",
        "sent_at",
    ]

    def has_add_permission(self, request) -> bool:
        return False


@admin.register(CustomerIdentity)
class CustomerIdentityAdmin(admin.ModelAdmin):
    """Who holds which identity (read only: identities are verified by their services)."""

    list_display = ["kind", "value", "verified", "verified_by", "customer", "source", "created_at"]
    list_filter = ["kind", "verified", "verified_by"]
    search_fields = ["value", "customer__name", "customer__external_id"]
    list_select_related = ["customer"]
    readonly_fields = [
        "customer",
        "kind",
        "value",
        "verified",
        "verified_at",
        "verified_by",
        "verified_user",
        "source",
        "created_at",
    ]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(CustomerMerge)
class CustomerMergeAdmin(admin.ModelAdmin):
    """Every merge, with what it moved; a supervisor undoes one from its page."""

    list_display = [
        "__str__",
        "merged_name",
        "survivor_link",
        "how",
        "merged_by",
        "created_at",
        "undone_at",
    ]
    list_filter = ["how", ("undone_at", admin.EmptyFieldListFilter)]
    search_fields = ["merged_name", "reason"]
    date_hierarchy = "created_at"
    list_select_related = ["merged_by", "undone_by"]
    fields = [
        "survivor_link",
        "merged_id",
        "merged_name",
        "how",
        "reason",
        "merged_by",
        "created_at",
        "moved_rows",
        "undo",
        "undone_at",
        "undone_by",
        "undo_reason",
    ]
    readonly_fields = fields

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # the history of a merge is what makes it reversible

    @admin.display(description=_("kept customer"))
    def survivor_link(self, obj: CustomerMerge):
        if not Customer.objects.filter(pk=obj.survivor_id).exists():
            return f"#{obj.survivor_id}"
        url = reverse("admin:customers_customer_change", args=[obj.survivor_id])
        return format_html('<a href="{}">#{}</a>', url, obj.survivor_id)

    @admin.display(description=_("moved rows"))
    def moved_rows(self, obj: CustomerMerge):
        return format_html_join(
            "", "<p>{}: {}</p>", ((label, len(ids)) for label, ids in obj.moved.items())
        )

    @admin.display(description=_("undo"))
    def undo(self, obj: CustomerMerge):
        if obj.is_undone:
            return "–"
        url = reverse("admin:customers_customermerge_unmerge", args=[obj.pk])
        return format_html('<a class="button" href="{}">{}</a>', url, gettext("Undo this merge…"))

    def get_urls(self):
        return [
            path(
                "<int:merge_id>/unmerge/",
                self.admin_site.admin_view(self.unmerge_view),
                name="customers_customermerge_unmerge",
            ),
            *super().get_urls(),
        ]

    def unmerge_view(self, request, merge_id: int):
        """Undo a merge (supervisors): what will move back, why; then the undoing."""
        if not request.user.has_perm("customers.unmerge_customers"):
            raise PermissionDenied
        merge = CustomerMerge.objects.filter(pk=merge_id).first()
        if merge is None:
            raise Http404
        error, status = "", 200
        if request.method == "POST":
            reason = request.POST.get("reason", "")
            if len(reason) > 500:
                error = gettext("The reason is at most 500 characters.")
            else:
                try:
                    unmerge_customers(merge_id=merge.pk, by=request.user, reason=reason)
                except MergeRefused as refused:
                    error = str(refused)
                else:
                    self.message_user(
                        request,
                        gettext("%(name)s is back, with the %(n)s rows that had moved.")
                        % {"name": merge.merged_name, "n": merge.moved_count()},
                    )
                    return redirect("admin:customers_customer_change", merge.merged_id)
            status = 400
        return TemplateResponse(
            request,
            "admin/customers/customermerge/unmerge.html",
            {
                **self.admin_site.each_context(request),
                "opts": self.model._meta,
                "title": gettext("Undo a merge"),
                "merge": merge,
                "error": error,
            },
            status=status,
        )


@admin.register(TagRule)
class TagRuleAdmin(admin.ModelAdmin):
    """The rules that tag customers by themselves; "Apply now" re-evaluates everyone."""

    list_display = [
        "name_zh",
        "name_en",
        "kind",
        "value",
        "threshold",
        "window_days",
        "enabled",
        "tagged",
    ]
    list_editable = ["enabled"]
    list_filter = ["kind", "enabled"]
    search_fields = ["name_zh", "name_en", "value"]
    actions = ["apply_now"]

    def save_model(self, request, obj, form, change):
        """A rule added or changed is applied to everyone after commit (the sweep task)."""
        super().save_model(request, obj, form, change)
        tag_rules.sweep_on_commit(rule_ids=[obj.pk])

    @admin.display(description=_("customers tagged"))
    def tagged(self, obj: TagRule) -> int:
        return obj.tags.count()

    @admin.action(description=_("Apply the selected rules to every customer now"))
    def apply_now(self, request, queryset):
        added, removed = tag_rules.sweep(rule_ids=list(queryset.values_list("pk", flat=True)))
        self.message_user(
            request,
            gettext("%(added)s tags added, %(removed)s removed.")
            % {"added": added, "removed": removed},
        )


def _rate(part: int, whole: int) -> str:
    return f"{part / whole:.0%}" if whole else "–"


@admin.register(InvitationRule)
class InvitationRuleAdmin(admin.ModelAdmin):
    """The rules in order of precedence, with how often each was shown, accepted and
    declined."""

    list_display = [
        "name",
        "position",
        "enabled",
        "url_pattern",
        "min_seconds",
        "segment",
        "recent_order_days",
        "shown",
        "accepted",
        "declined",
        "acceptance",
    ]
    list_editable = ["position", "enabled"]
    list_filter = ["enabled", "segment"]
    search_fields = ["name", "url_pattern", "message_zh", "message_en"]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(
                shown_count=Count("invitations"),
                accepted_count=Count("invitations", filter=Q(invitations__answer="accepted")),
                declined_count=Count("invitations", filter=Q(invitations__answer="declined")),
            )
        )

    @admin.display(description=_("shown"), ordering="shown_count")
    def shown(self, obj) -> int:
        return obj.shown_count

    @admin.display(description=_("accepted"), ordering="accepted_count")
    def accepted(self, obj) -> int:
        return obj.accepted_count

    @admin.display(description=_("declined"), ordering="declined_count")
    def declined(self, obj) -> int:
        return obj.declined_count

    @admin.display(description=_("accepted (rate)"))
    def acceptance(self, obj) -> str:
        return _rate(obj.accepted_count, obj.shown_count)


@admin.register(Invitation)
class InvitationAdmin(admin.ModelAdmin):
    list_display = ["rule", "customer", "source", "page_url", "answer", "created_at"]
    list_filter = ["rule", "answer", "source"]
    search_fields = ["page_url", "customer__name", "customer__external_id"]
    list_select_related = ["rule", "customer"]
    raw_id_fields = ["customer"]
    readonly_fields = [
        "rule",
        "customer",
        "visitor",
        "source",
        "page_url",
        "language",
        "answer",
        "conversation_id",
        "created_at",
        "answered_at",
    ]

    def has_add_permission(self, request) -> bool:
        return False


# Addresses typed without a scheme are https (Django 6's default, chosen now).
HTTPS_URLS = {models.URLField: {"assume_scheme": "https"}}


class RecommendedProductInline(admin.TabularInline):
    model = RecommendedProduct
    formfield_overrides = HTTPS_URLS
    extra = 1
    fields = ["position", "sku", "name_zh", "name_en", "url"]


@admin.register(RecommendationRule)
class RecommendationRuleAdmin(admin.ModelAdmin):
    """The topic → offer mapping, with how often each offer was shown, clicked and
    converted."""

    list_display = [
        "name",
        "position",
        "enabled",
        "moment",
        "topic",
        "order_category",
        "kind",
        "shown",
        "clicked",
        "click_rate",
        "converted",
        "conversion_rate",
    ]
    list_editable = ["position", "enabled"]
    list_filter = ["enabled", "kind", "moment"]
    formfield_overrides = HTTPS_URLS
    search_fields = ["name", "topic", "order_category", "products__sku"]
    inlines = [RecommendedProductInline]
    fieldsets = [
        (None, {"fields": ["name", "enabled", "position", "moment", "topic", "order_category"]}),
        (_("What is offered"), {"fields": ["kind", "message_zh", "message_en"]}),
        (
            _("Coupon offer"),
            {
                "fields": [
                    "coupon_title_zh",
                    "coupon_title_en",
                    "coupon_amount",
                    "coupon_minimum_spend",
                    "coupon_days",
                    "coupon_url",
                ]
            },
        ),
        (_("Conversion"), {"fields": ["conversion_days"]}),
    ]

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .annotate(
                shown_count=Count("recommendations"),
                clicked_count=Count(
                    "recommendations", filter=Q(recommendations__first_clicked_at__isnull=False)
                ),
                converted_count=Count(
                    "recommendations", filter=Q(recommendations__converted_at__isnull=False)
                ),
            )
        )

    @admin.display(description=_("shown"), ordering="shown_count")
    def shown(self, obj) -> int:
        return obj.shown_count

    @admin.display(description=_("clicked"), ordering="clicked_count")
    def clicked(self, obj) -> int:
        return obj.clicked_count

    @admin.display(description=_("click rate"))
    def click_rate(self, obj) -> str:
        return _rate(obj.clicked_count, obj.shown_count)

    @admin.display(description=_("converted"), ordering="converted_count")
    def converted(self, obj) -> int:
        return obj.converted_count

    @admin.display(description=_("conversion rate"))
    def conversion_rate(self, obj) -> str:
        return _rate(obj.converted_count, obj.shown_count)


@admin.register(Recommendation)
class RecommendationAdmin(admin.ModelAdmin):
    list_display = ["rule", "customer", "kind", "topic", "shown_at", "clicks", "converted_at"]
    list_filter = ["rule", "kind"]
    search_fields = ["customer__name", "customer__external_id", "converted_by"]
    list_select_related = ["rule", "customer"]
    raw_id_fields = ["customer", "coupon"]
    readonly_fields = [
        "rule",
        "customer",
        "conversation_id",
        "kind",
        "topic",
        "offers",
        "skus",
        "coupon",
        "shown_at",
        "convert_until",
        "clicks",
        "first_clicked_at",
        "converted_at",
        "converted_by",
    ]

    def has_add_permission(self, request) -> bool:
        return False
