from django.urls import path

from tickets.views import bulk, saved_views
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
    path(
        "from-conversation/<uuid:conversation_id>/",
        views.ticket_from_conversation,
        name="from-conversation",
    ),
]
