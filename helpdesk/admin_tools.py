"""Back-office pieces the apps share."""

from django.contrib import admin


class ReadOnlyInline(admin.TabularInline):
    """A history shown beside its parent: no adding, no editing, no deleting."""

    extra = 0
    can_delete = False

    def get_readonly_fields(self, request, obj=None):
        return self.fields

    def has_add_permission(self, request, obj=None):
        return False


class ReadOnlyAdmin(admin.ModelAdmin):
    """A record to read, never to add, change or delete — not even for a superuser."""

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
