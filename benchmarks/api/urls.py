from rest_framework.routers import SimpleRouter

from benchmarks.api import views

router = SimpleRouter(trailing_slash=False)
router.register("completions", views.CompletionViewSet, basename="completion")

urlpatterns = router.urls
