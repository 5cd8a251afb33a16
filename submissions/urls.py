"""The evaluation queue's web pages: the queue, the submission form."""

from django.urls import path

from submissions import views

urlpatterns = [
    path("queue", views.queue_page, name="queue"),
    path("submit", views.submit_page, name="submit"),
]
