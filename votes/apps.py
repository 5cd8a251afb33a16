from django.apps import AppConfig


class VotesConfig(AppConfig):
    name = "votes"
    verbose_name = "Votes"

    def ready(self) -> None:
        from leaderboard_site.hub import mirror
        from votes.services import known_on_publishing

        mirror.register_publishing("votes", known_on_publishing)
