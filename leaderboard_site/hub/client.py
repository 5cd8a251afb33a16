"""Every Hub call goes through here: one endpoint, one token, timeouts, and one exception type.

`HubError` has two kinds callers act on: `HubNotFound` (the repo, file or revision does not
exist or is not visible to us) and `HubUnavailable` (the Hub is down, slow or rate limiting).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import httpx2  # huggingface_hub's HTTP client: its transport errors surface as these
from django.conf import settings
from huggingface_hub import (
    CommitOperationAdd,
    CommitOperationDelete,
    HfApi,
    ModelInfo,
    hf_hub_url,
    snapshot_download,
)
from huggingface_hub import errors as hf_errors
from huggingface_hub.utils import build_hf_headers, get_session, hf_raise_for_status

from leaderboard_site.api.errors import ApiError

Reader = Callable[[str], bytes | None]  # path in a repo -> its content, or None when absent


class HubError(Exception):
    """A Hub call failed."""


class HubNotFound(HubError):
    """The repository, revision or file does not exist, or is private to us."""


class HubUnavailable(HubError):
    """The Hub did not answer in time or answered with a server error or 429."""


class HubUnauthorized(HubError):
    """The Hub refused the token."""


class HubGated(HubError):
    """The repository is gated and our token may not read it."""


class HubConflict(HubError):
    """A commit's parent is no longer the head of the branch."""


class InvalidRepoId(ApiError):
    """Not a `namespace/name` the Hub could hold (a 400 naming the rule it breaks)."""

    def __init__(self, repo_id: str, problem: str):
        super().__init__(
            f"The model id is not a Hub repo id: {problem}.",
            details={"model_id": repo_id, "reason": "invalid_model_id", "problem": problem},
        )


def _repo_id_problem(repo_id: str) -> str | None:
    """The rule `repo_id` breaks: the Hub's (huggingface_hub's validate_repo_id checks them too,
    but lets non-ASCII letters through, which the Hub refuses)."""
    parts = repo_id.split("/")
    if len(parts) != 2:
        return "expected namespace/name"
    for part in parts:
        if not 1 <= len(part) <= 96:
            return "a namespace or name has 1 to 96 characters"
        if re.search(r"[^A-Za-z0-9_.-]", part):
            return "only ASCII letters, digits, '-', '_' and '.' are allowed"
        if part[0] in "-." or part[-1] in "-.":
            return "a namespace or name cannot start or end with '-' or '.'"
        if "--" in part or ".." in part:
            return "'--' and '..' are not allowed"
    if repo_id.endswith(".git"):
        return "a name cannot end with '.git'"
    return None


def check_repo_id(repo_id: str) -> str:
    """`repo_id` when the Hub could hold it, else InvalidRepoId saying why: every model id from
    a caller goes through here before it reaches the Hub, the database or a file name."""
    problem = _repo_id_problem(repo_id)
    if problem is not None:
        raise InvalidRepoId(repo_id, problem)
    return repo_id


def _cache_dir() -> Path:
    return Path(settings.VAR_DIR) / "hf-cache"


def api() -> HfApi:
    return HfApi(endpoint=settings.HF_ENDPOINT, token=settings.HF_TOKEN or False)


def _translate(exc: Exception, what: str) -> HubError:
    if isinstance(exc, hf_errors.HFValidationError):  # checked before; never a 500 if missed
        return HubNotFound(f"{what}: not a valid repo id")
    if isinstance(exc, hf_errors.GatedRepoError):
        return HubGated(f"{what}: gated, and our token may not read it")
    if isinstance(exc, hf_errors.LocalEntryNotFoundError):  # could not connect, nothing cached
        return HubUnavailable(f"{what}: the Hub is unreachable ({exc})")
    if isinstance(
        exc,
        hf_errors.RepositoryNotFoundError
        | hf_errors.RevisionNotFoundError
        | hf_errors.EntryNotFoundError,
    ):
        return HubNotFound(f"{what}: not found on the Hub")
    if isinstance(exc, hf_errors.HfHubHTTPError):
        status = exc.response.status_code if exc.response is not None else None
        if status == 412:
            return HubConflict(f"{what}: the branch moved")
        if status is None or status == 429 or status >= 500:
            return HubUnavailable(f"{what}: the Hub answered {status}")
        return HubError(f"{what}: the Hub answered {status}: {exc}")
    return HubUnavailable(f"{what}: the Hub is unreachable ({type(exc).__name__}: {exc})")


_HUB_FAILURES = (
    hf_errors.HFValidationError,
    hf_errors.HfHubHTTPError,
    hf_errors.EntryNotFoundError,
    httpx2.HTTPError,
    OSError,
)


def download_dataset(repo_id: str, *, patterns: list[str], revision: str | None = None) -> Path:
    """Download the files of a dataset repo matching `patterns`; returns the local folder."""
    try:
        folder = snapshot_download(
            repo_id,
            repo_type="dataset",
            revision=revision,
            allow_patterns=patterns,
            endpoint=settings.HF_ENDPOINT,
            token=settings.HF_TOKEN or False,
            cache_dir=_cache_dir(),
            etag_timeout=settings.HF_TIMEOUT,
        )
    except _HUB_FAILURES as exc:
        raise _translate(exc, f"dataset {repo_id}") from exc
    return Path(folder)


def whoami(token: str) -> str:
    """The Hub user name a token belongs to."""
    try:
        info = HfApi(endpoint=settings.HF_ENDPOINT).whoami(token=token)
    except hf_errors.HfHubHTTPError as exc:
        if exc.response is not None and exc.response.status_code == 401:
            raise HubUnauthorized("the Hub refused the token") from exc
        raise _translate(exc, "whoami") from exc
    except _HUB_FAILURES as exc:
        raise _translate(exc, "whoami") from exc
    name = info.get("name") if isinstance(info, dict) else None
    if not isinstance(name, str) or not name:
        raise HubError("whoami: the Hub answered without a user name")
    return name


def model_info(repo_id: str, *, revision: str | None = None) -> ModelInfo:
    """A model's info at a revision (the sha, card data, config, safetensors totals)."""
    try:
        return api().model_info(repo_id, revision=revision, timeout=settings.HF_TIMEOUT)
    except _HUB_FAILURES as exc:
        raise _translate(exc, f"model {repo_id}") from exc


def read_file(
    repo_id: str, path: str, *, revision: str | None = None, repo_type: str = "model"
) -> bytes | None:
    """The content of one small file (a card, a config) of a repo at a revision, or None when the
    repo has no such file. One GET on huggingface_hub's own session, without the download cache
    (whose locks and temporary files cost ~10 ms a file)."""
    url = hf_hub_url(
        repo_id, path, repo_type=repo_type, revision=revision, endpoint=settings.HF_ENDPOINT
    )
    try:
        response = get_session().get(
            url,
            headers=build_hf_headers(token=settings.HF_TOKEN or False),
            timeout=settings.HF_TIMEOUT,
            follow_redirects=True,
        )
        hf_raise_for_status(response)
    except hf_errors.RemoteEntryNotFoundError:
        return None
    except _HUB_FAILURES as exc:
        raise _translate(exc, f"{repo_id}/{path}") from exc
    return response.content


def dataset_head(repo_id: str) -> str | None:
    """The current commit of a dataset repo's main branch; None when the repo does not exist."""
    try:
        return api().dataset_info(repo_id, timeout=settings.HF_TIMEOUT).sha
    except hf_errors.RepositoryNotFoundError:
        return None
    except _HUB_FAILURES as exc:
        raise _translate(exc, f"dataset {repo_id}") from exc


def commit(
    repo_id: str, *, files: dict[str, bytes | None], message: str, parent: str | None
) -> str:
    """Write (bytes) or delete (None) files of a dataset in one commit; returns the new sha.

    With `parent`, the Hub refuses the commit when the branch moved (HubConflict). Without one,
    the repository is created first when it does not exist.
    """
    operations: list[CommitOperationAdd | CommitOperationDelete] = [
        CommitOperationAdd(path_in_repo=path, path_or_fileobj=content)
        if content is not None
        else CommitOperationDelete(path_in_repo=path)
        for path, content in sorted(files.items())
    ]
    hub = api()
    try:
        if parent is None:
            hub.create_repo(repo_id, repo_type="dataset", exist_ok=True)
        info = hub.create_commit(
            repo_id,
            operations=operations,
            commit_message=message,
            repo_type="dataset",
            parent_commit=parent,
        )
    except _HUB_FAILURES as exc:
        raise _translate(exc, f"commit to {repo_id}") from exc
    return info.oid
