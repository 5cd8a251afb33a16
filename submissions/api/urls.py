from django.urls import path

from submissions.api import views

urlpatterns = [
    path("submit", views.SubmitView.as_view(), name="models-submit"),
    path("status", views.StatusView.as_view(), name="models-status"),
    path("pending", views.PendingView.as_view(), name="models-pending"),
    path(
        "organization/<str:org>/submissions",
        views.OrganizationSubmissionsView.as_view(),
        name="organization-submissions",
    ),
    path("requests/<int:request_id>/cancel", views.CancelView.as_view(), name="request-cancel"),
    path("<str:org>/<str:name>/status", views.ModelStatusView.as_view(), name="model-status"),
]
