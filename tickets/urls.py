from django.urls import path

from tickets.views import automation, bulk, collaboration, saved_views
from tickets.views import pages as views

app_name = "tickets"

urlpatterns = [
    path("", views.ticket_list, name="list"),
    path("bulk/", bulk.ticket_bulk, name="bulk"),
    path("views/", saved_views.saved_views, name="views"),
    path("views/<int:view_id>/rename/", saved_views.rename_view, name="view-rename"),
    path("views/<int:view_id>/move/", saved_views.move_view, name="view-move"),
    path("views/<int:view_id>/delete/", saved_views.delete_view, name="view-delete"),
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
