from django.contrib import admin

from customers.models import Customer


@admin.register(Customer)
class CustomerAdmin(admin.ModelAdmin):
    list_display = ["display_name", "external_id", "email", "phone", "language", "created_at"]
    list_filter = ["language"]
    search_fields = ["name", "external_id", "email", "phone"]
    date_hierarchy = "created_at"
