from django.apps import AppConfig


class RealtimeConfig(AppConfig):
    name = "leaderboard_site.realtime"
    label = "realtime"
    verbose_name = "Realtime events"

    def ready(self) -> None:
        from leaderboard_site.realtime import receivers  # noqa: F401 (connects the signals)
