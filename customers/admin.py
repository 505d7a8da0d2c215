from django.contrib import admin
from django.utils.html import format_html_join
from django.utils.translation import gettext_lazy as _

from customers.models import (
    AfterSalesRequest,
    CareCampaign,
    Coupon,
    Customer,
    CustomerNote,
    CustomerTag,
    LevelChange,
    Order,
    Outreach,
    PointsEntry,
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
        "email",
        "phone",
        "language",
        "created_at",
    ]
    list_filter = ["level", "language"]
    search_fields = ["name", "external_id", "email", "phone"]
    date_hierarchy = "created_at"
    inlines = [
        CustomerTagInline,
        CustomerNoteInline,
        OrderInline,
        PointsEntryInline,
        LevelChangeInline,
    ]
    readonly_fields = ["points"]

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
