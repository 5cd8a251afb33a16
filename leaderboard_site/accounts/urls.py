"""The accounts' web pages."""

from django.urls import path

from leaderboard_site.accounts import views

urlpatterns = [
    path("signin", views.signin_page, name="signin"),
    path("signout", views.signout, name="signout"),
    path("account", views.account_page, name="account"),
    path("account/keys/<uuid:key_id>/revoke", views.api_key_revoke, name="api-key-revoke"),
]
