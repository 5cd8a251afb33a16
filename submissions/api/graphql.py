"""Submissions on /graphql: the evaluation queue's requests, and submitModel.

The same selectors as the status endpoints, and the same serializer and service as
POST /api/models/submit, so both APIs show, accept and refuse the same things.
"""

from __future__ import annotations

from typing import Any

import strawberry
from strawberry.scalars import JSON
from strawberry.types import Info

from leaderboard_site.accounts.roles import Role
from leaderboard_site.api.errors import ApiError
from leaderboard_site.graphql.common import PageInfo, paged, validated
from leaderboard_site.graphql.context import require
from leaderboard_site.hub.client import check_repo_id
from submissions import selectors, services
from submissions.api.serializers import SubmitSerializer
from submissions.checks import Submission
from submissions.models import Status


@strawberry.type
class RequestNode:
    """One evaluation request, as GET /api/models/{org}/{name}/status shows it."""

    id: int
    name: str
    submitter: str
    revision: str
    precision: str
    weight_type: str
    model_type: str
    use_chat_template: bool
    status: str
    score: int = strawberry.field(description="up votes minus down votes")
    submission_time: str | None
    wait_time: str
    reason: str
    partial: bool
    missing_subtasks: JSON

    @classmethod
    def of(cls, item: dict[str, Any]) -> RequestNode:
        return cls(**item)


@strawberry.type
class RequestPage:
    items: list[RequestNode]
    page_info: PageInfo


@strawberry.input
class SubmitModelInput:
    model_id: str
    model_type: str
    precision: str
    revision: str | None = None
    weight_type: str | None = None
    base_model: str | None = None
    use_chat_template: bool | None = None


@strawberry.type
class SubmitModelResult:
    message: str
    request: RequestNode


def model_requests(model_name: str) -> list[RequestNode]:
    return [RequestNode.of(item) for item in selectors.model_requests(check_repo_id(model_name))]


@strawberry.type
class SubmissionsQuery:
    @strawberry.field(description="The queue's requests, newest first, of one status or all "
                      "(PENDING, EVALUATING, FINISHED, FAILED, CANCELLED; anyone).")  # fmt: skip
    def submissions(
        self, status: str | None = None, page: int = 1, page_size: int = 20
    ) -> RequestPage:
        if status is not None and status not in Status.values:
            raise ApiError(f"status must be one of {', '.join(Status.values)}.",
                           details={"status": status})  # fmt: skip
        rows, info = paged(selectors.requests_listed(status), page, page_size)
        return RequestPage(items=[RequestNode.of(selectors.request_item(r)) for r in rows],
                           page_info=info)  # fmt: skip


@strawberry.type
class SubmissionsMutation:
    @strawberry.mutation(description="Queue a model for evaluation, as POST /api/models/submit "
                         "(role user).")  # fmt: skip
    def submit_model(self, info: Info, input: SubmitModelInput) -> SubmitModelResult | None:
        user = require(info, Role.USER)
        data = validated(SubmitSerializer, vars(input))
        submission = Submission(
            model_id=data["model_id"], revision=data["revision"], precision=data["precision"],
            weight_type=data["weight_type"], model_type=data["model_type"],
            base_model=data["base_model"], use_chat_template=data["use_chat_template"],
        )  # fmt: skip
        queued = services.request_submit(user=user, submission=submission)
        return SubmitModelResult(
            message=f"{queued.model_name} was added to the evaluation queue.",
            request=RequestNode.of(selectors.request_detail(queued.pk)),
        )
