from django.urls import path

from tickets.views import automation
from tickets.views import pages as views

app_name = "tickets"

urlpatterns = [
    path("", views.ticket_list, name="list"),
    path("<int:ticket_id>/", views.ticket_detail, name="detail"),
    path("<int:ticket_id>/comments/", views.ticket_comment, name="comment"),
    path("<int:ticket_id>/change/", views.ticket_change, name="change"),
    path("<int:ticket_id>/macros/<int:macro_id>/", automation.apply_macro, name="apply-macro"),
    path(
        "from-conversation/<uuid:conversation_id>/",
        views.ticket_from_conversation,
        name="from-conversation",
    ),
]
