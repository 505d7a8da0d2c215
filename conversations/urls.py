from django.contrib.auth import views as auth_views
from django.urls import path

from conversations.views import desk as views

app_name = "desk"

urlpatterns = [
    path("", views.desk_home, name="home"),
    path("lists/", views.desk_lists, name="lists"),
    path("c/<uuid:conversation_id>/", views.desk_conversation, name="conversation"),
    path("c/<uuid:conversation_id>/take/", views.desk_take, name="take"),
    path("c/<uuid:conversation_id>/suggestions/", views.desk_suggestions, name="suggestions"),
    path("c/<uuid:conversation_id>/close/", views.desk_close, name="close"),
    path(
        "login/",
        auth_views.LoginView.as_view(
            template_name="conversations/login.html", redirect_authenticated_user=True
        ),
        name="login",
    ),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
]
