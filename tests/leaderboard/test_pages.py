"""The leaderboard's pages rendered by the server: the first rows of any view in the HTML (the
API's filters, the quick sizes' boundaries), the model page, the comparison, the admin's list."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from django.test import Client

from leaderboard.models import Entry
from submissions.models import EvalRequest, Status
from tests.leaderboard.factories import EntryFactory
from votes.models import Vote

pytestmark = pytest.mark.django_db
HTML = {"HTTP_ACCEPT": "text/html"}


def board() -> None:
    EntryFactory(model_name="acme/best", average=60.0, params_billions=70.0, model_type="chat")
    EntryFactory(model_name="acme/seven", average=50.0, params_billions=7.0)
    EntryFactory(model_name="qwen/three", average=40.0, params_billions=3.0, precision="float16")
    EntryFactory(model_name="qwen/small", average=30.0, params_billions=1.5, merged=True)


def rows(html: str) -> list[str]:
    """The model names of the table's rows, in order."""
    body = html.split('<tbody id="rows">', 1)[1].split("</tbody>", 1)[0]
    return re.findall(r'<th scope="row" class="col-model"><a href="[^"]*">([^<]+)</a>', body)


def shown(html: str) -> int:
    return int(re.search(r'id="shown" data-value="(\d+)"', html).group(1))  # type: ignore[union-attr]


def test_the_first_rows_are_in_the_html_best_first(client: Client) -> None:
    board()
    html = client.get("/").content.decode()
    assert rows(html) == ["acme/best", "acme/seven", "qwen/three", "qwen/small"]
    assert shown(html) == 4
    assert 'aria-label="medal">🥇</span> 1' in html
    assert 'title="💬 chat models (RLHF, DPO, IFT, ...)"' in html  # the type's icon, labelled
    assert 'href="/models/acme/best"' in html and 'href="https://huggingface.co/acme/best"' in html
    config = json.loads(re.search(r'id="board-config" type="application/json">(.*?)</script>',
                                  html).group(1))  # type: ignore[union-attr]  # fmt: skip
    assert config["total"] == 4 and config["mode"] == "client"
    assert config["sizes"]["mid"] == {"label": "Mid-range", "min": 7, "max": 65}


def test_the_view_in_the_url_is_the_view_rendered(client: Client) -> None:
    board()
    html = client.get("/", {"search": "^qwen/", "ordering": "average"}).content.decode()
    assert rows(html) == ["qwen/small", "qwen/three"]
    assert 'aria-sort="ascending"' in html
    html = client.get("/", {"hide_merged": "true", "precision": "bfloat16"}).content.decode()
    assert rows(html) == ["acme/best", "acme/seven"]
    assert '<td class="num rank">–</td>' in html  # a filtered view: its ranks come from the script


@pytest.mark.parametrize(
    ("size", "expected"),
    [("edge", ["qwen/small"]), ("consumer", ["qwen/three"]), ("mid", ["acme/seven"]),
     ("gpu", ["acme/best"])],
)  # fmt: skip
def test_a_quick_size_holds_its_lower_bound_not_its_upper(
    client: Client, size: str, expected: list[str]
) -> None:
    board()
    html = client.get("/", {"size": size}).content.decode()
    assert rows(html) == expected
    assert f'data-size="{size}" aria-pressed="true"' in html


def test_official_only_and_a_sort_link(client: Client) -> None:
    board()
    Entry.objects.filter(model_name="qwen/three").update(official_provider=True)
    assert rows(client.get("/", {"official_only": "true"}).content.decode()) == ["qwen/three"]
    html = client.get("/").content.decode()
    assert 'href="?ordering=-ifeval" data-order="ifeval"' in html
    assert 'href="?ordering=-average" data-order="average"' not in html  # already: flips
    assert 'href="?ordering=average" data-order="average"' in html


def test_bad_filters_are_said_and_the_whole_board_shown(client: Client) -> None:
    board()
    html = client.get("/", {"precision": "fp64"}).content.decode()
    assert 'class="alert error" role="alert"' in html and "precision" in html
    assert shown(html) == 4


def test_columns_and_raw_scores(client: Client) -> None:
    EntryFactory(model_name="acme/one", ifeval_raw=0.5, ifeval=37.5)
    html = client.get("/", {"cols": "average,ifeval", "scores": "raw"}).content.decode()
    assert "hide-bbh" in html and "hide-ifeval" not in html
    assert '<td class="num col-ifeval">50.00%' in html  # the raw value, as a percentage
    html = client.get("/").content.decode()
    assert '<td class="num col-ifeval">37.50%' in html and "hide-params" in html


def test_the_model_page(client: Client, alice: Any) -> None:
    board()
    EntryFactory(model_name="acme/best", precision="float16", average=55.0)
    EvalRequest.objects.create(
        model_name="acme/best", revision="b" * 40, precision="8bit", weight_type="Original",
        model_type="chat", status=Status.FAILED, reason="The model does not fit in memory.",
        mirror_path="acme/best_8bit.json",
    )  # fmt: skip
    Vote.objects.create(user=alice, model_name="acme/best", revision="0" * 40,
                        precision="bfloat16", vote_type="up")  # fmt: skip
    html = client.get("/models/acme/best").content.decode()
    assert "<h1>" in html and "acme/best" in html
    assert html.count('<th scope="row">') == 2  # bfloat16 and float16
    assert "Rank 1 of 5" in html  # the average, against the leaderboard's five entries
    assert "The model does not fit in memory." in html and "status-FAILED" in html
    assert '<span id="up-votes">1</span>' in html
    assert "Sign in</a> to vote" in html
    client.force_login(alice)
    html = client.get("/models/acme/best").content.decode()
    assert 'data-vote="up" aria-pressed="true"' in html and "You voted up." in html
    assert "leaderboard/model.js" in html


def test_an_unknown_model_is_a_404_page(client: Client) -> None:
    response = client.get("/models/nobody/nothing", **HTML)  # type: ignore[arg-type]
    assert response.status_code == 404
    assert "text/html" in response["Content-Type"]


def test_the_comparison(client: Client) -> None:
    board()
    html = client.get("/compare", {"models": "acme/best,qwen/three,no/such"}).content.decode()
    assert "no/such is not on the leaderboard." in html
    assert html.count('<rect class="series-') == 14  # 7 groups x 2 models
    assert 'aria-label="Remove acme/best"' in html
    assert 'href="/compare?models=qwen/three"' in html
    response = client.get("/compare", {"models": "acme/best", "add": "qwen/small"})
    assert response.status_code == 302
    assert response["Location"] == "/compare?models=acme/best,qwen/small"
    many = ",".join(["acme/best", "acme/seven", "qwen/three", "qwen/small", "a/x", "b/y"])
    assert client.get("/compare", {"models": many}).content.decode().count("is not on") == 1


def test_the_admin_list_shows_two_decimals_icons_and_the_apis_precisions(
    client: Client, admin_user: Any
) -> None:
    EntryFactory(model_name="acme/one", average=52.0830612345, model_type="chat")
    client.force_login(admin_user)
    html = client.get("/admin/leaderboard/entry/").content.decode()
    assert ">52.08<" in html and "52.083" not in html
    assert '<span title="💬 chat models (RLHF, DPO, IFT, ...)">💬</span>' in html
    assert "?precision__exact=8bit" in html and ">8bit<" in html and "Int8" not in html


def test_above_the_client_limit_the_page_pages_through_the_api(
    client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    from leaderboard import views

    board()
    monkeypatch.setattr(views, "CLIENT_LIMIT", 3)
    html = client.get("/").content.decode()
    assert '"mode": "paged"' in html
    assert 'rel="preload" href="/api/leaderboard/formatted"' not in html  # never the whole list
