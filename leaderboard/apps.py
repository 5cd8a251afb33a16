from django.apps import AppConfig


class LeaderboardConfig(AppConfig):
    name = "leaderboard"
    verbose_name = "Leaderboard"

    def ready(self) -> None:
        from leaderboard import telemetry
        from leaderboard.selectors import CONTENTS_PATH, contents_parquet
        from leaderboard_site.hub.mirror import register_generator

        register_generator("contents", CONTENTS_PATH, contents_parquet)
        telemetry.register()
