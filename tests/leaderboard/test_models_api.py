from __future__ import annotations

from typing import Any

import pytest

from tests.leaderboard.factories import EntryFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/models/"


def names(response: Any) -> list[str]:
    assert response.status_code == 200, response.content
    return [item["model"]["name"] for item in response.json()["items"]]


def test_list_shape_and_default_order(anon: Any) -> None:
    EntryFactory(model_name="a/low", average=10.0)
    EntryFactory(model_name="a/high", average=30.0)
    EntryFactory(model_name="a/none", average=None)
    body = anon.get(URL).json()
    assert set(body) == {"items", "total", "page", "page_size", "total_pages"}
    assert (body["total"], body["page"], body["page_size"], body["total_pages"]) == (3, 1, 20, 1)
    assert [i["model"]["name"] for i in body["items"]] == ["a/high", "a/low", "a/none"]
    item = body["items"][0]
    assert set(item) == {"id", "model", "evaluations", "features", "metadata"}


def test_pagination_bounds(anon: Any) -> None:
    EntryFactory.create_batch(25)
    second = anon.get(URL, {"page": 2, "page_size": 10}).json()
    assert len(second["items"]) == 10
    assert second["total_pages"] == 3
    assert second["total"] == 25
    past = anon.get(URL, {"page": 9}).json()
    assert past["items"] == []
    assert past["total"] == 25
    assert anon.get(URL, {"page_size": 1000}).json()["page_size"] == 100
    for bad in ({"page": 0}, {"page": "x"}, {"page_size": -1}):
        response = anon.get(URL, bad)
        assert response.status_code == 400
        assert response.json()["error"]["code"] == "BAD_REQUEST"


def test_search_terms_fields_and_or(anon: Any) -> None:
    EntryFactory(model_name="meta/Llama-3-8B", architecture="LlamaForCausalLM")
    EntryFactory(model_name="qwen/Qwen2-7B", architecture="Qwen2ForCausalLM", precision="float16")
    EntryFactory(model_name="mist/Mixtral", architecture="MixtralForCausalLM", hub_license="mit")
    assert names(anon.get(URL, {"search": "llama"})) == ["meta/Llama-3-8B"]
    assert sorted(names(anon.get(URL, {"search": "llama; qwen"}))) == [
        "meta/Llama-3-8B",
        "qwen/Qwen2-7B",
    ]
    # a substring of the field, as the upstream frontend matches: bfloat16 holds float16
    assert len(names(anon.get(URL, {"search": "@precision:float16"}))) == 3
    assert names(anon.get(URL, {"search": "@precision:float16 qwen"})) == ["qwen/Qwen2-7B"]
    assert names(anon.get(URL, {"search": "@architecture:mixtral"})) == ["mist/Mixtral"]
    assert names(anon.get(URL, {"search": "@license:MIT"})) == ["mist/Mixtral"]
    # an unknown field matches nothing, as in the frontend; so does a capitalized one
    assert names(anon.get(URL, {"search": "@color:blue"})) == []
    assert names(anon.get(URL, {"search": "@Precision:float16"})) == []


def test_type_search_and_filter(anon: Any) -> None:
    EntryFactory(model_name="a/chatty", model_type="chat")
    EntryFactory(model_name="a/base", model_type="pretrained")
    EntryFactory(model_name="a/more", model_type="continuously-pretrained")
    assert names(anon.get(URL, {"search": "@type:chat"})) == ["a/chatty"]
    assert sorted(names(anon.get(URL, {"search": "@type:pretrained"}))) == ["a/base", "a/more"]
    assert names(anon.get(URL, {"type": "pretrained"})) == ["a/base"]
    assert anon.get(URL, {"type": "wizard"}).status_code == 400


def test_a_pattern_re2_refuses_is_a_substring(anon: Any) -> None:
    EntryFactory(model_name="acme/odd(1)")
    EntryFactory(model_name="acme/plain")
    response = anon.get(URL, {"search": "odd("})
    assert [item["model"]["name"] for item in response.json()["items"]] == ["acme/odd(1)"]


def test_search_combines_with_the_other_filters(anon: Any) -> None:
    EntryFactory(model_name="qwen/a", precision="float16", params_billions=7)
    EntryFactory(model_name="qwen/b", precision="bfloat16", params_billions=70)
    EntryFactory(model_name="meta/c", precision="float16", params_billions=7)
    response = anon.get(URL, {"search": "qwen", "precision": "float16"})
    assert [item["model"]["name"] for item in response.json()["items"]] == ["qwen/a"]
    response = anon.get(URL, {"search": "^qwen/", "params_max": 10, "ordering": "name"})
    assert [item["model"]["name"] for item in response.json()["items"]] == ["qwen/a"]


def test_precision_and_params_range(anon: Any) -> None:
    EntryFactory(model_name="a/small", params_billions=1.5, precision="float16")
    EntryFactory(model_name="a/mid", params_billions=7.0)
    EntryFactory(model_name="a/big", params_billions=70.0)
    assert names(anon.get(URL, {"precision": "float16"})) == ["a/small"]
    got = names(anon.get(URL, {"params_min": 2, "params_max": 70, "ordering": "params"}))
    assert got == ["a/mid", "a/big"]
    assert anon.get(URL, {"params_min": "lots"}).status_code == 400
    assert names(anon.get(URL, {"params_min": 7, "params_below": 70})) == ["a/mid"]


@pytest.mark.parametrize(
    ("param", "field"),
    [
        ("hide_merged", "merged"),
        ("hide_moe", "moe"),
        ("hide_flagged", "flagged"),
    ],
)
def test_hide_flags(anon: Any, param: str, field: str) -> None:
    EntryFactory(model_name="a/plain")
    EntryFactory(model_name="a/marked", **{field: True})
    assert names(anon.get(URL, {param: "true"})) == ["a/plain"]
    assert len(names(anon.get(URL, {param: "false"}))) == 2


def test_hide_unavailable_and_official_only(anon: Any) -> None:
    EntryFactory(model_name="a/gone", available_on_hub=False)
    EntryFactory(model_name="a/official", official_provider=True)
    assert names(anon.get(URL, {"hide_unavailable": "true"})) == ["a/official"]
    assert names(anon.get(URL, {"official_only": "true"})) == ["a/official"]


@pytest.mark.parametrize(
    ("ordering", "field"),
    [
        ("ifeval", "ifeval"),
        ("-mmlu_pro", "mmlu_pro"),
        ("hearts", "hub_hearts"),
        ("-params", "params_billions"),
        ("submission_date", "submission_date"),
    ],
)
def test_ordering(anon: Any, ordering: str, field: str) -> None:
    import datetime as dt

    values = [3, 1, 2]
    for n, value in enumerate(values):
        v: Any = dt.date(2024, 1, value) if field == "submission_date" else value
        EntryFactory(model_name=f"a/m{n}", **{field: v})
    got = names(anon.get(URL, {"ordering": ordering}))
    by_value = sorted(range(3), key=lambda n: values[n], reverse=ordering.startswith("-"))
    assert got == [f"a/m{n}" for n in by_value]


def test_unknown_ordering_is_a_400(anon: Any) -> None:
    response = anon.get(URL, {"ordering": "password"})
    assert response.status_code == 400
    assert response.json()["error"]["details"]["fields"]["ordering"]
