from django.urls import path

from tickets.views import automation, collaboration
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
    path("<int:ticket_id>/requests/", collaboration.request_help, name="request-help"),
    path("requests/", collaboration.request_list, name="requests"),
    path("requests/<int:request_id>/accept/", collaboration.request_accept, name="request-accept"),
    path("requests/<int:request_id>/answer/", collaboration.request_answer, name="request-answer"),
    path(
        "requests/<int:request_id>/decline/",
        collaboration.request_decline,
        name="request-decline",
    ),
    path(
        "requests/<int:request_id>/withdraw/",
        collaboration.request_withdraw,
        name="request-withdraw",
    ),
]
