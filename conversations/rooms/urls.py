"""The team rooms' routes, under /desk/rooms/ in the desk's namespace."""

from django.urls import path

from conversations.rooms import views

urlpatterns = [
    path("", views.room_list, name="rooms"),
    path("new/", views.create_room, name="room-create"),
    path("direct/", views.open_direct, name="room-direct"),
    path("search/", views.room_search, name="room-search"),
    path("<int:room_id>/", views.room_page, name="room"),
    path("<int:room_id>/changes/", views.room_changes, name="room-changes"),
    path("<int:room_id>/read/", views.mark_read, name="room-read"),
    path("<int:room_id>/members/", views.add_members, name="room-members"),
    path("<int:room_id>/leave/", views.leave, name="room-leave"),
    path("<int:room_id>/messages/", views.post_message, name="room-post"),
    path("<int:room_id>/attachments/", views.upload_attachment, name="room-upload"),
    path(
        "<int:room_id>/attachments/<uuid:attachment_id>/",
        views.attachment_file,
        name="room-attachment",
    ),
    path("<int:room_id>/m/<uuid:message_id>/", views.thread_page, name="room-thread"),
    path("<int:room_id>/m/<uuid:message_id>/edit/", views.edit_message, name="room-edit"),
    path("<int:room_id>/m/<uuid:message_id>/delete/", views.delete_message, name="room-delete"),
    path("<int:room_id>/m/<uuid:message_id>/labels/", views.label_message, name="room-labels"),
    path("<int:room_id>/m/<uuid:message_id>/pin/", views.pin_message, name="room-pin"),
    path("<int:room_id>/m/<uuid:message_id>/ack/", views.acknowledge, name="room-ack"),
    path("<int:room_id>/m/<uuid:message_id>/withdraw/", views.withdraw, name="room-withdraw"),
]
