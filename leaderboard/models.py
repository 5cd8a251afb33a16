"""Leaderboard entries (one per evaluated configuration) and official providers."""

from __future__ import annotations

from django.db import models


class ModelType(models.TextChoices):
    PRETRAINED = "pretrained", "🟢 pretrained"
    CONTINUOUSLY_PRETRAINED = "continuously-pretrained", "🟩 continuously pretrained"
    FINE_TUNED = "fine-tuned", "🔶 fine-tuned on domain-specific datasets"
    CHAT = "chat", "💬 chat models (RLHF, DPO, IFT, ...)"
    MERGE = "merge", "🤝 base merges and moerges"
    MULTIMODAL = "multimodal", "🌸 multimodal"
    OTHER = "other", "❓ other"

    @property
    def symbol(self) -> str:
        return str(self.label).split(" ", 1)[0]


class Precision(models.TextChoices):
    FLOAT16 = "float16"
    BFLOAT16 = "bfloat16"
    INT8 = "8bit"
    INT4 = "4bit"
    GPTQ = "gptq"


class WeightType(models.TextChoices):
    ORIGINAL = "Original"
    DELTA = "Delta"
    ADAPTER = "Adapter"


class EntryQuerySet(models.QuerySet["Entry"]):
    def of_organization(self, org: str) -> EntryQuerySet:
        return self.filter(model_name__startswith=f"{org}/")


class Entry(models.Model):
    """One evaluated row of the leaderboard, identified by (name, precision, sha, chat template)."""

    model_name = models.CharField(max_length=200, db_index=True)
    precision = models.CharField(max_length=16, choices=Precision.choices)
    revision_sha = models.CharField(max_length=64, blank=True)
    chat_template = models.BooleanField()

    model_type = models.CharField(max_length=32, choices=ModelType.choices)
    weight_type = models.CharField(
        max_length=16, choices=WeightType.choices, default=WeightType.ORIGINAL
    )
    architecture = models.CharField(max_length=100, blank=True)
    base_model = models.CharField(max_length=200, blank=True)
    # None (unknown) and "" are different in the contents dataset: keep both.
    hub_license = models.CharField(max_length=100, null=True, blank=True)  # noqa: DJ001
    hub_hearts = models.IntegerField(default=0)
    params_billions = models.FloatField(null=True, blank=True)
    generation = models.IntegerField(default=0)
    co2_cost = models.FloatField(null=True, blank=True)

    available_on_hub = models.BooleanField(default=True)
    merged = models.BooleanField(default=False)
    moe = models.BooleanField(default=False)
    flagged = models.BooleanField(default=False)
    official_provider = models.BooleanField(default=False)

    upload_date = models.DateField(null=True, blank=True)
    submission_date = models.DateField(null=True, blank=True)

    average = models.FloatField(null=True, blank=True)
    ifeval_raw = models.FloatField(null=True, blank=True)
    ifeval = models.FloatField(null=True, blank=True)
    bbh_raw = models.FloatField(null=True, blank=True)
    bbh = models.FloatField(null=True, blank=True)
    math_raw = models.FloatField(null=True, blank=True)
    math = models.FloatField(null=True, blank=True)
    gpqa_raw = models.FloatField(null=True, blank=True)
    gpqa = models.FloatField(null=True, blank=True)
    musr_raw = models.FloatField(null=True, blank=True)
    musr = models.FloatField(null=True, blank=True)
    mmlu_pro_raw = models.FloatField(null=True, blank=True)
    mmlu_pro = models.FloatField(null=True, blank=True)
    # The leaderboard subtasks an evaluation did not run (lm-eval task names): a partial run,
    # published only with EVAL_ALLOW_PARTIAL and scored over the subtasks that ran.
    missing_subtasks = models.JSONField(default=list, blank=True)

    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = EntryQuerySet.as_manager()

    class Meta:
        verbose_name_plural = "entries"
        constraints = [
            models.UniqueConstraint(
                fields=["model_name", "precision", "revision_sha", "chat_template"],
                name="entry_identity",
            )
        ]
        indexes = [
            models.Index(fields=["-average"], name="entry_average"),
            models.Index(fields=["model_type"], name="entry_type"),
            models.Index(fields=["precision"], name="entry_precision"),
            models.Index(fields=["params_billions"], name="entry_params"),
            models.Index(fields=["-hub_hearts"], name="entry_hearts"),
            models.Index(fields=["-submission_date"], name="entry_submission_date"),
            models.Index(fields=["official_provider", "-average"], name="entry_official"),
            models.Index(fields=["flagged", "merged", "moe"], name="entry_flags"),
        ]

    def __str__(self) -> str:
        return f"{self.model_name} ({self.precision}, {self.revision_sha[:7] or 'no sha'})"

    @property
    def organization(self) -> str:
        return self.model_name.split("/", 1)[0] if "/" in self.model_name else ""

    @property
    def partial(self) -> bool:
        return bool(self.missing_subtasks)

    @property
    def eval_name(self) -> str:
        return f"{self.model_name.replace('/', '_')}_{self.precision}"

    @property
    def formatted_id(self) -> str:
        return f"{self.model_name}_{self.precision}_{self.revision_sha}_{self.chat_template}"


class OfficialProvider(models.Model):
    """An organization whose models are highlighted as official (maintained in the admin)."""

    organization = models.CharField(max_length=100, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["organization"]

    def __str__(self) -> str:
        return self.organization
