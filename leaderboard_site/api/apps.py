from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "leaderboard_site.api"
    label = "api"
    verbose_name = "API"
