"""The Test Bench's web pages: benchmark runs, a run's page, datasets."""

from django.urls import path

from benchmarks import views

urlpatterns = [
    path("benchmarks", views.benchmarks_page, name="benchmarks"),
]
