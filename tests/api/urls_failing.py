"""A URLconf for tests of the 500 path: the project's URLs plus a view with a bug."""

from django.http import HttpRequest, HttpResponse
from django.urls import path
from rest_framework.decorators import api_view, permission_classes
from rest_framework.permissions import AllowAny

from leaderboard_site.urls import urlpatterns as project_urlpatterns

handler500 = "leaderboard_site.api.errors.server_error"
handler404 = "leaderboard_site.api.errors.page_not_found"


def plain_bug(request: HttpRequest) -> HttpResponse:
    raise RuntimeError("a bug in a plain view")


@api_view(["GET"])
@permission_classes([AllowAny])
def api_bug(request: HttpRequest) -> HttpResponse:
    raise RuntimeError("a bug in an API view")


urlpatterns = [
    path("boom/plain", plain_bug),
    path("boom/api", api_bug),
    *project_urlpatterns,
]
