from django.urls import path
from rest_framework.routers import SimpleRouter

from leaderboard.api import views

router = SimpleRouter(trailing_slash=True)
router.register("v1/models", views.EntryViewSet, basename="entry")

urlpatterns = [
    path("leaderboard", views.LeaderboardView.as_view(), name="leaderboard-raw"),
    path(
        "leaderboard/formatted",
        views.FormattedLeaderboardView.as_view(),
        name="leaderboard-formatted",
    ),
    *router.urls,
]
