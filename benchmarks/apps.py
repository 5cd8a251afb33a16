from django.apps import AppConfig


class BenchmarksConfig(AppConfig):
    name = "benchmarks"
    verbose_name = "Test Bench"

    def ready(self) -> None:
        from benchmarks import telemetry

        telemetry.register()
