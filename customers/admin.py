from django.contrib import admin
from django.db import models
from django.db.models import Count, Q
from django.utils.html import format_html_join
from django.utils.translation import gettext_lazy as _

from customers.models import (
    AfterSalesRequest,
    CareCampaign,
    Coupon,
    Customer,
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
)
from customers.services.care import render
from customers.services.levels import change_level
from helpdesk.admin_tools import ReadOnlyInline


class OrderInline(ReadOnlyInline):
    model = Order
    fields = ["number", "status", "total", "carrier", "tracking_number", "placed_at"]
    show_change_link = True


class CustomerTagInline(admin.TabularInline):
    model = CustomerTag
    extra = 0
    fields = ["name", "source", "created_by", "created_at"]
    readonly_fields = ["created_by", "created_at"]


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
        CustomerTagInline,
        CustomerNoteInline,
        OrderInline,
        PointsEntryInline,
        LevelChangeInline,
    ]
    readonly_fields = ["points", "segment", "conversation_count"]

    def save_model(self, request, obj, form, change):
        """A level changed here goes through change_level: its history, and the
        congratulation on an upgrade."""
        new_level = obj.level
        level_changed = change and "level" in form.changed_data
        if level_changed:
            obj.level = form.initial["level"]
        super().save_model(request, obj, form, change)
        if level_changed:
            change_level(
                customer_id=obj.pk,
                level=new_level,
                source=LevelChange.Source.ADMIN,
                changed_by=request.user,
            )
            obj.level = new_level


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
    list_display = ["kind", "enabled", "delay_minutes", "expire_hours", "reward_points"]
    list_editable = ["enabled"]
    readonly_fields = ["preview"]

    @admin.display(description=_("preview"))
    def preview(self, obj: CareCampaign) -> str:
        if obj.pk is None:
            return "–"
        sample_order = Order(
            number="LM20261103", carrier="顺丰速运", tracking_number="SF1234567890"
        )
        sample_coupon = Coupon(code="BDAY8K2Q", amount=obj.coupon_amount)
        rows = [
            (
                label,
                render(
                    obj,
                    customer=PREVIEW_CUSTOMER,
                    language=language,
                    order=sample_order,
                    coupon=sample_coupon if obj.coupon_amount else None,
                ),
            )
            for label, language in (("中文", "zh-hans"), ("English", "en"))
        ]
        return format_html_join("", "<p><strong>{}</strong>: {}</p>", rows)


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
