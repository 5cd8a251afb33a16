"""Test Bench data: model providers, their prices, and completions."""

from __future__ import annotations

import re
import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone


class ProviderKind(models.TextChoices):
    OPENAI = "openai"  # any OpenAI-compatible base URL: OpenAI, vLLM, llama.cpp, Ollama, TGI...
    ANTHROPIC = "anthropic"  # the Messages API
    HUGGINGFACE = "huggingface"  # a local transformers model (the eval extra)


class Provider(models.Model):
    """A configured model provider. Its API key is write-only: no API returns it."""

    name = models.SlugField(max_length=50, unique=True)
    kind = models.CharField(max_length=16, choices=ProviderKind.choices)
    base_url = models.URLField(max_length=300, blank=True, help_text="empty: the vendor's own")
    api_key = models.CharField(max_length=300, blank=True)
    timeout_seconds = models.FloatField(default=60.0)
    max_retries = models.PositiveIntegerField(default=3)
    max_concurrency = models.PositiveIntegerField(default=8)
    enabled = models.BooleanField(default=True)

    def __str__(self) -> str:
        return f"{self.name} ({self.kind})"


class Price(models.Model):
    """USD per million input and output tokens of one provider's model."""

    provider = models.CharField(max_length=50)
    model = models.CharField(max_length=200)
    input_per_million = models.DecimalField(max_digits=12, decimal_places=6)
    output_per_million = models.DecimalField(max_digits=12, decimal_places=6)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["provider", "model"], name="one_price")]

    def __str__(self) -> str:
        return f"{self.provider}/{self.model}"


class Completion(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="completions"
    )
    provider = models.CharField(max_length=50)
    model = models.CharField(max_length=200)
    prompt = models.TextField()
    text = models.TextField()
    prompt_tokens = models.PositiveIntegerField()
    completion_tokens = models.PositiveIntegerField()
    latency_ms = models.FloatField()
    cost = models.DecimalField(max_digits=14, decimal_places=8, null=True, blank=True)
    request_id = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["owner", "-created_at"], name="completion_owner")]

    def __str__(self) -> str:
        return f"{self.provider}/{self.model} {self.created_at:%Y-%m-%d %H:%M}"

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


class Evaluation(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="evaluations"
    )
    provider = models.CharField(max_length=50, blank=True)
    model = models.CharField(max_length=200, blank=True)
    input = models.TextField(blank=True)
    output = models.TextField()
    expected = models.TextField(null=True, blank=True)  # noqa: DJ001 (none vs empty differ)
    context = models.TextField(blank=True)
    score = models.FloatField()
    metrics = models.JSONField(default=dict)
    details = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["owner", "-created_at"], name="evaluation_owner")]

    def __str__(self) -> str:
        return f"{self.model or 'output'} {self.score:.2f}"


class Dataset(models.Model):
    """A named, versioned set of items; a new upload under a name is its next version."""

    name = models.SlugField(max_length=100)
    version = models.PositiveIntegerField()
    description = models.TextField(blank=True)
    source = models.CharField(max_length=300, blank=True)  # file name or hub:ORG/NAME
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True
    )
    item_count = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["name", "version"], name="dataset_version")]
        ordering = ["name", "-version"]

    def __str__(self) -> str:
        return f"{self.name} v{self.version}"


class DatasetName(models.Model):
    """Whose a dataset's name is: its first version's creator, who (with admins) alone adds
    versions. No owner means the system's (shipped and operator-imported datasets)."""

    name = models.SlugField(max_length=100, primary_key=True)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True
    )
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.name


class DatasetItem(models.Model):
    dataset = models.ForeignKey(Dataset, on_delete=models.CASCADE, related_name="items")
    index = models.PositiveIntegerField()
    prompt = models.TextField()  # may hold {{var}} template variables
    variables = models.JSONField(default=dict, blank=True)
    expected = models.TextField(null=True, blank=True)  # noqa: DJ001 (none vs empty differ)
    choices = models.JSONField(null=True, blank=True)  # multiple choice
    references = models.JSONField(default=list, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["dataset", "index"], name="dataset_item_index")
        ]
        ordering = ["dataset", "index"]

    def __str__(self) -> str:
        return f"{self.dataset} #{self.index}"

    def rendered_prompt(self) -> str:
        return render_prompt(self.prompt, self.variables)


PLACEHOLDER = re.compile(r"\{\{\s*(\w+)\s*\}\}")


def render_prompt(prompt: str, variables: dict[str, object]) -> str:
    return PLACEHOLDER.sub(lambda m: str(variables[m.group(1)]), prompt)


class BenchmarkStatus(models.TextChoices):
    PENDING = "pending"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"
    STOPPED = "stopped"  # ended early for a reason that is no failure (a spend cap reached)


FINAL_STATUSES = (
    BenchmarkStatus.COMPLETED,
    BenchmarkStatus.FAILED,
    BenchmarkStatus.CANCELLED,
    BenchmarkStatus.STOPPED,
)


class Benchmark(models.Model):
    """A run: every target (a provider's model) answers `iterations` items of one dataset
    version. Items answered are stored as they come, so a run resumes where it stopped."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="benchmarks"
    )
    api_key = models.ForeignKey(  # the key that created the run (None: a session's token)
        "accounts.ApiKey", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    name = models.CharField(max_length=200)
    dataset = models.ForeignKey(Dataset, on_delete=models.PROTECT, related_name="benchmarks")
    targets = models.JSONField(help_text='[{"provider": ..., "model": ...}]')
    metrics = models.JSONField(default=list)
    iterations = models.PositiveIntegerField()
    concurrency = models.PositiveSmallIntegerField(default=4)
    max_tokens = models.PositiveIntegerField(default=256)
    temperature = models.FloatField(default=0.0)
    system = models.TextField(blank=True)
    status = models.CharField(
        max_length=16, choices=BenchmarkStatus.choices, default=BenchmarkStatus.PENDING
    )
    done = models.PositiveIntegerField(default=0, help_text="items answered (all targets)")
    progress = models.FloatField(default=0.0)
    results = models.JSONField(null=True, blank=True)
    error = models.TextField(blank=True)  # why it failed, or why it stopped
    attempts = models.PositiveSmallIntegerField(default=0)
    lease_token = models.CharField(max_length=64, blank=True)
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["owner", "-created_at"], name="benchmark_owner"),
            models.Index(fields=["status", "lease_expires_at"], name="benchmark_lease"),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.status})"

    @property
    def total(self) -> int:
        return len(self.targets) * self.iterations


class BenchmarkItem(models.Model):
    """One target's answer to one item of a run (`position` counts the run's iterations; the
    dataset item is `position` modulo the dataset's size)."""

    benchmark = models.ForeignKey(Benchmark, on_delete=models.CASCADE, related_name="items")
    target = models.PositiveSmallIntegerField()
    position = models.PositiveIntegerField()
    item = models.ForeignKey(DatasetItem, on_delete=models.PROTECT, related_name="+")
    output = models.TextField(blank=True)
    correct = models.BooleanField(null=True)  # None: the item has no expected answer
    scores = models.JSONField(default=dict)
    latency_ms = models.FloatField(null=True)
    prompt_tokens = models.PositiveIntegerField(default=0)
    completion_tokens = models.PositiveIntegerField(default=0)
    cost = models.DecimalField(max_digits=14, decimal_places=8, null=True, blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["benchmark", "target", "position"], name="benchmark_item_once"
            )
        ]
        ordering = ["benchmark", "position", "target"]

    def __str__(self) -> str:
        return f"{self.benchmark_id} #{self.position}/{self.target}"


class CallSource(models.TextChoices):
    COMPLETION = "completion"
    JUDGE = "judge"  # an LLM-judge metric's call
    BENCHMARK = "benchmark"  # a run's items


class ProviderCall(models.Model):
    """Provider calls as spent: one row per call, or per store of a run's answers for each
    (source, provider, model) (`calls` counts them). Kept when the completions and runs they
    served are deleted; `cost` is None for a model without a price (tokens only)."""

    created_at = models.DateTimeField(default=timezone.now)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True,
        related_name="+",
    )  # fmt: skip
    api_key = models.ForeignKey(
        "accounts.ApiKey", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    source = models.CharField(max_length=16, choices=CallSource.choices)
    provider = models.CharField(max_length=50)
    model = models.CharField(max_length=200)
    benchmark_id = models.UUIDField(null=True, blank=True)  # no key: the run may be deleted
    calls = models.PositiveIntegerField(default=1)
    input_tokens = models.PositiveBigIntegerField(default=0)
    output_tokens = models.PositiveBigIntegerField(default=0)
    cost = models.DecimalField(max_digits=16, decimal_places=8, null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["user", "created_at"], name="provider_call_user"),
            models.Index(fields=["created_at"], name="provider_call_time"),
        ]

    def __str__(self) -> str:
        return f"{self.provider}/{self.model} x{self.calls} at {self.created_at:%Y-%m-%d %H:%M}"


class Budget(models.Model):
    """A spend cap in USD per UTC day and per UTC month, of a user (all their calls) or of one
    of their API keys. Empty: no cap for that period."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, null=True, blank=True,
        related_name="budget",
    )  # fmt: skip
    api_key = models.OneToOneField(
        "accounts.ApiKey", on_delete=models.CASCADE, null=True, blank=True, related_name="budget"
    )
    daily_usd = models.DecimalField(max_digits=12, decimal_places=4, null=True, blank=True)
    monthly_usd = models.DecimalField(max_digits=12, decimal_places=4, null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(user__isnull=False, api_key__isnull=True)
                | models.Q(user__isnull=True, api_key__isnull=False),
                name="budget_of_user_or_key",
            )
        ]

    def __str__(self) -> str:
        return f"budget of {self.api_key or self.user}"


class BudgetPeriod(models.TextChoices):
    DAY = "day"
    MONTH = "month"


class BudgetLedger(models.Model):
    """What a budget spent in one period, and what calls in flight reserved (their maximum
    cost): a call starts only if spent + reserved + its maximum stays within the cap, checked
    and reserved by one conditional UPDATE of this row."""

    budget = models.ForeignKey(Budget, on_delete=models.CASCADE, related_name="ledgers")
    period = models.CharField(max_length=8, choices=BudgetPeriod.choices)
    starts = models.DateField()
    spent = models.DecimalField(max_digits=16, decimal_places=8, default=0)
    reserved = models.DecimalField(max_digits=16, decimal_places=8, default=0)
    exceeded_at = models.DateTimeField(null=True, blank=True)  # first refusal (announced once)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["budget", "period", "starts"], name="one_ledger")
        ]

    def __str__(self) -> str:
        return f"{self.budget} {self.period} {self.starts}"
