from django.contrib import admin

from customers.models import AfterSalesRequest, Coupon, Customer, CustomerNote, CustomerTag, Order
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
    inlines = [CustomerTagInline, CustomerNoteInline, OrderInline]


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
