from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AnalyticsConfig(AppConfig):
    name = "analytics"
    verbose_name = _("Analytics")

    def ready(self):
        from analytics.board import today_on_board
        from conversations import hooks

        hooks.on_board(today_on_board)  # today's numbers on the live board
