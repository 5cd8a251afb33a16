from django.urls import path
from rest_framework.routers import SimpleRouter

from leaderboard_site.accounts.api import views

router = SimpleRouter(trailing_slash=False)
router.register("api-keys", views.ApiKeyViewSet, basename="api-key")

urlpatterns = [
    path("login", views.LoginView.as_view(), name="login"),
    path("me", views.MeView.as_view(), name="me"),
    path("refresh", views.RefreshView.as_view(), name="refresh"),
    path("logout", views.LogoutView.as_view(), name="logout"),
    path("password", views.PasswordView.as_view(), name="password"),
    *router.urls,
]
