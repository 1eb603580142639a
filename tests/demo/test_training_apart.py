"""The runtime package never imports the demo perceptor's training package (as open_clip ↔ open_clip_train)."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import dreamloom

TRAINING = "dreamloom_train"
RUNTIME_ROOT = Path(dreamloom.__file__).resolve().parent


def training_imports(source: str) -> list[int]:
    """Line numbers of the imports of the training package in Python ``source``."""
    lines = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0:
            names = [node.module or ""]
        else:
            continue
        if any(name == TRAINING or name.startswith(f"{TRAINING}.") for name in names):
            lines.append(node.lineno)
    return lines


def test_the_scan_finds_every_spelling_of_a_training_import() -> None:
    source = (
        "import os\nimport dreamloom_train\nfrom dreamloom_train.scenes import COLOURS\n"
        "def f():\n    import dreamloom_train.check as check\nfrom dreamloom.perception import demo_model\n"
        "import dreamloom_training_notes\n"
    )
    assert training_imports(source) == [2, 3, 5]


def test_no_runtime_module_imports_the_training_package() -> None:
    files = sorted(RUNTIME_ROOT.rglob("*.py"))
    assert RUNTIME_ROOT / "perception" / "demo_model.py" in files and len(files) > 20
    offenders = {
        str(path.relative_to(RUNTIME_ROOT)): lines
        for path in files
        if (lines := training_imports(path.read_text(encoding="utf-8")))
    }
    assert offenders == {}


_LOAD_DEMO = """
import json, sys, tempfile
from pathlib import Path
import torch
import dreamloom.perception.demo_model
after_import = sorted(m for m in sys.modules if m.split(".")[0] == "dreamloom_train")
from dreamloom.perception.perceptors import load_perceptor
with tempfile.TemporaryDirectory() as cache:
    load_perceptor("demo", device=torch.device("cpu"), cache_dir=Path(cache), offline=True)
after_load = sorted(m for m in sys.modules if m.split(".")[0] == "dreamloom_train")
print(json.dumps([after_import, after_load]))
"""


def test_loading_the_demo_perceptor_imports_nothing_from_training() -> None:
    result = subprocess.run([sys.executable, "-c", _LOAD_DEMO], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    after_import, after_load = json.loads(result.stdout.strip().splitlines()[-1])
    assert after_import == [] and after_load == []
