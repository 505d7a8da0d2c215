from django.urls import path

from knowledge import views

app_name = "help"

urlpatterns = [
    path("", views.help_home, name="home"),
    path("search/", views.help_search, name="search"),
    path("c/<slug:slug>/", views.help_category, name="category"),
    path("a/<slug:slug>/", views.help_article, name="article"),
    path("a/<slug:slug>/feedback/", views.help_feedback, name="feedback"),
]
