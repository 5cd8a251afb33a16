"""The datasets the project ships (benchmarks/data): mmlu-sample, arithmetic, instruction-following."""

from pathlib import Path

from django.db import migrations

DATA = Path(__file__).resolve().parent.parent / "data"
SHIPPED = [
    ("mmlu-sample", "mmlu", "Ten multiple-choice questions in MMLU's schema (answers A-D)."),
    ("arithmetic", "items", "Ten arithmetic questions with {{a}} and {{b}} variables."),
    ("instruction-following", "items", "Five short instructions with exact expected answers."),
]


def load(apps, schema_editor):
    from benchmarks.datasets import parse

    Dataset = apps.get_model("benchmarks", "Dataset")
    DatasetItem = apps.get_model("benchmarks", "DatasetItem")
    for name, schema, description in SHIPPED:
        if Dataset.objects.filter(name=name).exists():
            continue
        items = parse((DATA / f"{name}.jsonl").read_bytes(), fmt="jsonl", schema=schema)
        dataset = Dataset.objects.create(name=name, version=1, description=description,
                                         source=f"{name}.jsonl", item_count=len(items))
        DatasetItem.objects.bulk_create(
            DatasetItem(dataset=dataset, index=i, prompt=item.prompt, variables=item.variables,
                        expected=item.expected, choices=item.choices, references=item.references)
            for i, item in enumerate(items)
        )


def unload(apps, schema_editor):
    apps.get_model("benchmarks", "Dataset").objects.filter(
        name__in=[name for name, _, _ in SHIPPED], version=1
    ).delete()


class Migration(migrations.Migration):
    dependencies = [("benchmarks", "0004_datasets")]
    operations = [migrations.RunPython(load, unload)]
