"""URL map: the web pages, /api (leaderboard), /v1 (Test Bench), /graphql, /health, /docs,
/admin."""

from django.conf import settings
from django.contrib import admin
from django.urls import include, path, re_path
from django.views.static import serve
from drf_spectacular.views import SpectacularSwaggerView

from leaderboard_site.api.views import (
    HealthView,
    LivenessView,
    MetricsView,
    OpenApiJsonView,
    ReadinessView,
)
from leaderboard_site.graphql.schema import schema
from leaderboard_site.graphql.views import GraphQLView

handler400 = "leaderboard_site.api.errors.bad_request"
handler403 = "leaderboard_site.api.errors.permission_denied"
handler404 = "leaderboard_site.api.errors.page_not_found"
handler500 = "leaderboard_site.api.errors.server_error"

urlpatterns = [
    # The web pages (sessions, CSRF on every form), whatever APIs are on.
    path("", include("leaderboard.urls")),
    path("", include("submissions.urls")),
    path("", include("benchmarks.urls")),
    path("", include("leaderboard_site.accounts.urls")),
    path("health", HealthView.as_view(), name="health"),
    path("health/live", LivenessView.as_view(), name="health-live"),
    path("health/ready", ReadinessView.as_view(), name="health-ready"),
    path("metrics", MetricsView.as_view(), name="metrics"),
    path("admin/", admin.site.urls),
    path("api-docs/openapi.json", OpenApiJsonView.as_view(), name="openapi-schema"),
]

# The three APIs can each be turned off (ENABLE_REST, ENABLE_GRAPHQL; ENABLE_WEBSOCKET in
# routing.py): their routes are then not there at all, and answer 404.
if settings.ENABLE_REST:
    urlpatterns += [
        path("api/", include("leaderboard.api.urls")),
        path("api/models/", include("submissions.api.urls")),
        path("api/votes/", include("votes.api.urls")),
        path("v1/auth/", include("leaderboard_site.accounts.api.urls")),
        path("v1/", include("benchmarks.api.urls")),
        path("v1/", include("webhooks.api.urls")),
    ]

if settings.ENABLE_GRAPHQL:
    urlpatterns += [path("graphql", GraphQLView.as_view(schema=schema), name="graphql")]

if settings.SERVE_STATIC:
    # The admin's CSS and JS, collected by `make run`; behind a proxy or CDN, turn this off.
    urlpatterns += [
        re_path(r"^static/(?P<path>.*)$", serve, {"document_root": settings.STATIC_ROOT}),
    ]

if settings.ENABLE_SWAGGER:
    swagger = SpectacularSwaggerView.as_view(url_name="openapi-schema")
    urlpatterns += [
        path("docs", swagger, name="swagger-ui"),
        path("swagger-ui", swagger),
    ]
