from django.urls import path

from votes.api import views

urlpatterns = [
    path("model/<str:provider>/<str:model>", views.CountsView.as_view(), name="vote-counts"),
    path("<str:org>/<str:name>", views.ModelVotesView.as_view(), name="model-votes"),
]
