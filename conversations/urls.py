from django.contrib.auth import views as auth_views
from django.urls import include, path

from conversations.views import customer_panel as panel
from conversations.views import desk as views
from conversations.views import notices
from helpdesk.logins import DeskLoginView

app_name = "desk"

urlpatterns = [
    path("", views.desk_home, name="home"),
    path("lists/", views.desk_lists, name="lists"),
    path("c/<uuid:conversation_id>/", views.desk_conversation, name="conversation"),
    path("c/<uuid:conversation_id>/take/", views.desk_take, name="take"),
    path("c/<uuid:conversation_id>/suggestions/", views.desk_suggestions, name="suggestions"),
    path("c/<uuid:conversation_id>/close/", views.desk_close, name="close"),
    path("c/<uuid:conversation_id>/transfer/", views.desk_transfer, name="transfer"),
    path("c/<uuid:conversation_id>/invite/", views.desk_invite, name="invite"),
    path(
        "c/<uuid:conversation_id>/consultation/leave/",
        views.desk_leave_consultation,
        name="leave-consultation",
    ),
    path("c/<uuid:conversation_id>/notes/", views.desk_note, name="note"),
    path("c/<uuid:conversation_id>/tags/", views.desk_tags, name="tags"),
    path("c/<uuid:conversation_id>/attachments/", views.desk_upload, name="upload"),
    path("c/<uuid:conversation_id>/customer/", panel.customer_panel, name="customer-panel"),
    path("c/<uuid:conversation_id>/customer/notes/", panel.add_note, name="customer-note-add"),
    path(
        "c/<uuid:conversation_id>/customer/notes/<int:note_id>/",
        panel.edit_note,
        name="customer-note-edit",
    ),
    path(
        "c/<uuid:conversation_id>/customer/notes/<int:note_id>/delete/",
        panel.delete_note,
        name="customer-note-delete",
    ),
    path("c/<uuid:conversation_id>/customer/tags/", panel.add_tag, name="customer-tag-add"),
    path(
        "c/<uuid:conversation_id>/customer/tags/<int:tag_id>/delete/",
        panel.remove_tag,
        name="customer-tag-remove",
    ),
    path("c/<uuid:conversation_id>/customer/merge/", panel.merge_search, name="customer-merge"),
    path(
        "c/<uuid:conversation_id>/customer/merge/<int:customer_id>/",
        panel.merge_with,
        name="customer-merge-with",
    ),
    path("kb/", views.desk_kb_search, name="kb"),
    path("status/", views.desk_status, name="status"),
    path("notices/", notices.notice_list, name="notices"),
    path("notices/read/", notices.notices_read, name="notices-read"),
    path("rooms/", include("conversations.rooms.urls")),
    path("board/", views.desk_board, name="board"),
    path("board/live/", views.desk_board_live, name="board-live"),
    path("login/", DeskLoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
]
