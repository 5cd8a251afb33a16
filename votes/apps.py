from django.apps import AppConfig


class VotesConfig(AppConfig):
    name = "votes"
    verbose_name = "Votes"

    def ready(self) -> None:
        from leaderboard_site.hub import mirror
        from votes.services import known_on_push

        mirror.register_pushed("votes", known_on_push)
