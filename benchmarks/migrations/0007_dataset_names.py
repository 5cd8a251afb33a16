import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


def settle_owners(apps, schema_editor):
    """Each existing name belongs to its first version's creator (none: the system's)."""
    Dataset = apps.get_model("benchmarks", "Dataset")
    DatasetName = apps.get_model("benchmarks", "DatasetName")
    first: dict[str, int | None] = {}
    for name, owner_id in Dataset.objects.order_by("name", "version").values_list(
        "name", "created_by_id"
    ):
        first.setdefault(name, owner_id)
    DatasetName.objects.bulk_create(
        [DatasetName(name=name, owner_id=owner_id) for name, owner_id in first.items()]
    )


class Migration(migrations.Migration):
    dependencies = [
        ("benchmarks", "0006_benchmark_runs"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="DatasetName",
            fields=[
                ("name", models.SlugField(max_length=100, primary_key=True, serialize=False)),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                (
                    "owner",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
        ),
        migrations.RunPython(settle_owners, migrations.RunPython.noop),
    ]
