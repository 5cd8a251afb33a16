"""The Test Bench's web pages: benchmark runs, a run's page, comparisons, datasets."""

from django.urls import path

from benchmarks import views

urlpatterns = [
    path("benchmarks", views.benchmarks_page, name="benchmarks"),
    path("benchmarks/compare", views.benchmarks_compare_page, name="benchmarks-compare"),
    path("benchmarks/datasets", views.datasets_page, name="benchmark-datasets"),
    path("benchmarks/<uuid:benchmark_id>", views.benchmark_page, name="benchmark"),
    path("benchmarks/<uuid:benchmark_id>/cancel", views.benchmark_cancel, name="benchmark-cancel"),
]
