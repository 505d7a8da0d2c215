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
