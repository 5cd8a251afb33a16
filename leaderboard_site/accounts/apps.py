from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "leaderboard_site.accounts"
    label = "accounts"
    verbose_name = "Accounts"

    def ready(self) -> None:
        from leaderboard_site.accounts import schema  # noqa: F401 - registers the extension
