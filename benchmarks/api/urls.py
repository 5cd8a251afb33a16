from django.urls import path
from rest_framework.routers import SimpleRouter

from benchmarks.api import views

router = SimpleRouter(trailing_slash=False)
router.register("completions", views.CompletionViewSet, basename="completion")
router.register("evaluations", views.EvaluationViewSet, basename="evaluation")
router.register("benchmarks", views.BenchmarkViewSet, basename="benchmark")
router.register("plugins", views.PluginViewSet, basename="plugin")
router.register("datasets", views.DatasetViewSet, basename="dataset")
router.register("providers", views.ProviderViewSet, basename="provider")

urlpatterns = [path("usage", views.UsageView.as_view(), name="usage"), *router.urls]
