from django.apps import AppConfig
from django.contrib.admin.apps import AdminConfig


class LumenAdminConfig(AdminConfig):
    """django.contrib.admin with the project's site (helpdesk/admin_site.py)."""

    default_site = "helpdesk.admin_site.LumenAdminSite"


class HelpdeskConfig(AppConfig):
    name = "helpdesk"
    verbose_name = "Lumen Helpdesk"

    def ready(self):
        from django.contrib.auth.signals import user_logged_in, user_logged_out

        # schema registers the API key scheme with drf-spectacular.
        from helpdesk import logins, schema  # noqa: F401

        # Logins and logouts go to the audit log, whoever calls login() (docs/security.md).
        user_logged_in.connect(logins.record_login, dispatch_uid="audit-login")
        user_logged_out.connect(logins.record_logout, dispatch_uid="audit-logout")

        # An uploaded file named with a folder path is refused, not silently renamed.
        from helpdesk.uploads import refuse_paths_in_file_names

        refuse_paths_in_file_names()
