"""Datasets: uploads in three formats, line-numbered refusals, versions, shipped and Hub imports."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command

from benchmarks.models import Dataset, DatasetItem

pytestmark = pytest.mark.django_db

JSONL = (
    '{"prompt": "What is {{a}} + {{b}}?", "variables": {"a": 2, "b": 3}, "expected": "5"}\n'
    '{"prompt": "Pick one", "choices": ["x", "y"], "expected": "y"}\n'
)


def test_the_shipped_datasets_are_there(alice_client) -> None:
    names = {d["name"] for d in alice_client.get("/v1/datasets?page_size=100").json()["items"]}
    assert {"mmlu-sample", "arithmetic", "instruction-following"} <= names
    mmlu = alice_client.get("/v1/datasets/mmlu-sample/items?page_size=1").json()
    assert mmlu["total"] == 10
    first = mmlu["items"][0]
    assert first["choices"] == ["A", "B", "C", "D"]
    assert first["expected"] == "C"  # Canberra, index 2
    assert first["prompt"].endswith("C. Canberra\nD. Perth\nAnswer:")
    arithmetic = DatasetItem.objects.filter(dataset__name="arithmetic").first()
    assert arithmetic.rendered_prompt() == "What is 12 + 7? Answer with the number only."


def test_upload_jsonl_then_a_new_version(alice_client, anon) -> None:
    upload = SimpleUploadedFile("sums.jsonl", JSONL.encode())
    response = alice_client.post("/v1/datasets", {"name": "sums", "file": upload})
    assert response.status_code == 201, response.content
    assert response.json()["version"] == 1 and response.json()["item_count"] == 2
    body = {"name": "sums", "format": "jsonl", "content": JSONL.splitlines()[0]}
    again = alice_client.post("/v1/datasets", body, format="json")
    assert again.json()["version"] == 2
    assert alice_client.get("/v1/datasets/sums").json()["item_count"] == 1  # the latest
    assert alice_client.get("/v1/datasets/sums?version=1").json()["item_count"] == 2
    assert alice_client.get("/v1/datasets/sums?version=9").status_code == 404
    assert anon.get("/v1/datasets").status_code == 401


def test_json_and_csv(alice_client) -> None:
    rows = [{"prompt": "Say hi", "expected": "hi", "references": ["hello"]}]
    body = {"name": "greet", "format": "json", "content": json.dumps(rows)}
    response = alice_client.post("/v1/datasets", body, format="json")
    assert response.status_code == 201
    csv_text = (
        'prompt,expected,choices,variables\n"Capital of {{c}}?",Paris,,"{""c"": ""France""}"\n'
    )
    csv_text += "Pick,b,a|b|c,\n"
    upload = SimpleUploadedFile("qa.csv", csv_text.encode())
    response = alice_client.post("/v1/datasets", {"name": "qa", "file": upload})
    assert response.status_code == 201, response.content
    items = alice_client.get("/v1/datasets/qa/items").json()["items"]
    assert items[0]["variables"] == {"c": "France"}
    assert items[1]["choices"] == ["a", "b", "c"]


def test_bad_rows_are_refused_with_their_line_numbers(alice_client) -> None:
    bad = (
        '{"prompt": "ok", "expected": "1"}\n'
        '{"expected": "no prompt"}\n'
        "\n"
        '{"prompt": "Hi {{name}}"}\n'
        '{"prompt": "Pick", "choices": ["a", "b"], "expected": "c"}\n'
        "not json\n"
    )
    upload = SimpleUploadedFile("bad.jsonl", bad.encode())
    response = alice_client.post("/v1/datasets", {"name": "bad", "file": upload})
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["details"]["errors"] == [{"line": 6, "field": None, "message": error["details"]
                                           ["errors"][0]["message"]}]  # fmt: skip
    upload = SimpleUploadedFile("bad.jsonl", bad.rsplit("not json", 1)[0].encode())
    errors = alice_client.post("/v1/datasets", {"name": "bad", "file": upload}).json()["error"]
    assert [(e["line"], e["field"]) for e in errors["details"]["errors"]] == [
        (2, "prompt"), (4, "variables"), (5, "expected")
    ]  # fmt: skip
    assert not Dataset.objects.filter(name="bad").exists()


def test_a_file_that_is_not_utf8_is_refused_with_its_line(alice_client) -> None:
    upload = SimpleUploadedFile(
        "latin1.jsonl", '{"prompt": "ok"}\n{"prompt": "café"}\n'.encode("latin-1")
    )
    response = alice_client.post("/v1/datasets", {"name": "latin", "file": upload})
    assert response.status_code == 400, response.content
    assert response.json()["error"]["details"]["errors"][0]["line"] == 2
    assert not Dataset.objects.filter(name="latin").exists()


def test_viewers_read_and_users_upload(alice_client) -> None:
    from tests.conftest import client_for, make_user

    viewer = client_for(make_user("watcher", "viewer"))
    assert viewer.get("/v1/datasets").status_code == 200
    upload = SimpleUploadedFile("x.jsonl", JSONL.encode())
    assert viewer.post("/v1/datasets", {"name": "x", "file": upload}).status_code == 403


def test_import_dataset_from_a_file_and_from_the_hub(hub, tmp_path) -> None:
    path = tmp_path / "sums.jsonl"
    path.write_text(JSONL)
    out = StringIO()
    call_command("import_dataset", "sums", str(path), stdout=out)
    assert "sums v1: 2 items" in out.getvalue()
    mmlu_rows = "\n".join(json.dumps({"question": f"Q{i}?", "choices": ["a", "b", "c", "d"],
                                      "answer": i % 4}) for i in range(5))  # fmt: skip
    hub.add_file("cais/mmlu-mini", "test/data.jsonl", mmlu_rows)
    call_command("import_dataset", "mmlu", "hub:cais/mmlu-mini", "--schema", "mmlu", stdout=out)
    dataset = Dataset.objects.get(name="mmlu")
    assert dataset.item_count == 5
    assert [i.expected for i in dataset.items.order_by("index")] == ["A", "B", "C", "D", "A"]
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"nope": 1}\n')
    with pytest.raises(CommandError, match="line 1"):
        call_command("import_dataset", "bad", str(bad))


def _upload(client, name: str):
    return client.post("/v1/datasets", {"name": name, "content": JSONL, "format": "jsonl"},
                       format="json")  # fmt: skip


def test_a_dataset_name_belongs_to_its_first_versions_creator(
    alice_client, bob_client, admin_user
) -> None:
    from tests.conftest import client_for

    assert _upload(alice_client, "alice-ds").status_code == 201
    taken = _upload(bob_client, "alice-ds")
    assert taken.status_code == 403 and taken.json()["error"]["code"] == "FORBIDDEN"
    assert bob_client.get("/v1/datasets/alice-ds").json()["version"] == 1  # still readable
    assert _upload(alice_client, "alice-ds").json()["version"] == 2
    assert _upload(client_for(admin_user), "alice-ds").json()["version"] == 3  # admins may
    assert Dataset.objects.filter(name="alice-ds").count() == 3


def test_the_shipped_datasets_belong_to_the_system(alice_client, admin_user, tmp_path) -> None:
    from tests.conftest import client_for

    assert _upload(alice_client, "mmlu-sample").status_code == 403
    assert alice_client.get("/v1/datasets/mmlu-sample").json()["version"] == 1
    assert _upload(client_for(admin_user), "mmlu-sample").status_code == 201
    out = StringIO()
    upload = tmp_path / "more.jsonl"
    upload.write_text(JSONL)
    call_command("import_dataset", "arithmetic", str(upload), stdout=out)  # operators may
    assert "arithmetic v2" in out.getvalue()


def test_the_migration_settles_names_by_their_first_versions_creator(alice, bob) -> None:
    from importlib import import_module

    from django.apps import apps

    from benchmarks.models import DatasetName

    migration = import_module("benchmarks.migrations.0007_dataset_names")
    Dataset.objects.create(name="mixed", version=1, created_by=bob)
    Dataset.objects.create(name="mixed", version=2, created_by=alice)
    DatasetName.objects.all().delete()
    migration.settle_owners(apps, None)
    assert DatasetName.objects.get(name="mixed").owner == bob
    assert DatasetName.objects.get(name="mmlu-sample").owner is None
