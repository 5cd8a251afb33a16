from django.apps import AppConfig


class HubConfig(AppConfig):
    name = "leaderboard_site.hub"
    label = "hub"
    verbose_name = "Hub mirror"
