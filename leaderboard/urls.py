"""The leaderboard's web pages: the table, a model's page, the comparison."""

from django.urls import path

from leaderboard import views

urlpatterns = [
    path("", views.leaderboard_page, name="index"),
    path("models/<str:org>/<str:name>", views.model_page, name="model-page"),
    path("compare", views.compare_page, name="compare"),
]
