from django.apps import AppConfig


class HelpdeskConfig(AppConfig):
    name = "helpdesk"
    verbose_name = "Lumen Helpdesk"

    def ready(self):
        from helpdesk import schema  # noqa: F401 (registers the API key scheme with drf-spectacular)
