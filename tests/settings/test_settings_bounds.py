"""Hostile settings end in one clear message: finite bounds on every number, strict types, and loading that
never crashes (odd top-level keys, giant numbers, deep nesting); random documents and overrides included."""

from __future__ import annotations

import contextlib
import io
import math
import subprocess
import sys
from pathlib import Path
from typing import get_args

import pytest
import yaml
from hypothesis import HealthCheck, given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from dreamloom.cli import main
from dreamloom.dsl import compile_expression
from dreamloom.errors import PromptError, SettingsError
from dreamloom.plan import build_plan
from dreamloom.settings.loading import load_settings
from dreamloom.settings.schema import (
    MAX_CUTOUTS,
    MAX_SIDE,
    MAX_STEPS,
    SETTING_NAMES,
    AudioFilter,
    Settings,
)

BASE = {"scenes": "red", "perceptors": ["demo"], "ViTB32": False}


def run_main(*arguments: str) -> tuple[int, str]:
    """``dreamloom`` in this process: its exit code and what it printed on stderr."""
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        code = main(list(arguments))
    return code, err.getvalue()


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(BASE))
    return path


def test_every_numeric_setting_has_a_finite_upper_and_lower_bound():
    """A new numeric setting without a range fails here (backups is bounded by its own validator)."""
    for model in (Settings, AudioFilter):
        for name, info in model.model_fields.items():
            numeric = info.annotation in (int, float) or {int, float} & set(get_args(info.annotation))
            if not numeric or name in ("backups", "seed"):
                continue
            bounds = {attribute for item in info.metadata for attribute in ("ge", "gt", "le", "lt")
                      if getattr(item, attribute, None) is not None}
            assert bounds & {"le", "lt"}, f"{name} has no upper bound"
            assert bounds & {"ge", "gt"} or name in ("width", "height"), f"{name} has no lower bound"


@pytest.mark.parametrize(("override", "message"), [
    ("display_scale=inf", "display_scale = inf (from the command line): must be a finite number"),
    ("learning_rate=1e300", "learning_rate = 1e+300 (from the command line): must be less than or equal to 100"),
    ("hdr_weight=nan", "hdr_weight = nan (from the command line): must be a finite number"),
    ("steps_per_scene=99999999999999999999999", f"must be less than or equal to {MAX_STEPS}"),
    ("width=1000000000", f"width = 1000000000 (from the command line): must be less than or equal to {MAX_SIDE}"),
    ("cutouts=100000000000", f"cutouts = 100000000000 (from the command line): must be less than or equal to {MAX_CUTOUTS}"),
    ("smoothing_weight=inf", "smoothing_weight = inf (from the command line): must be a finite number, not inf"),
    ("width=true", "width = True (from the command line): must be a number, not true/false"),
    ("seed=false", "seed = False (from the command line): must be a number, not true/false"),
    ("pixel_size=64", "pixel_size: width 512 × pixel_size 64 makes pictures wider than 16384 pixels"),
    ("backups=2000000", "must be a number of backups (0 or more) or 'all'; at most 1000000"),
])
def test_out_of_range_and_mistyped_numbers_are_refused_at_load(config: Path, override: str, message: str):
    with pytest.raises(SettingsError) as caught:
        load_settings(config, [override])
    assert message in str(caught.value)


def test_a_flag_in_a_yaml_file_is_not_read_as_a_number(tmp_path: Path):
    path = tmp_path / "flag.yaml"
    path.write_text("width: true\nheight: 64\n")
    with pytest.raises(SettingsError, match=r"width = True \(from .*flag.yaml\): must be a number, not true/false"):
        load_settings(path)


@pytest.mark.parametrize("scenes", ["red:inf", "red:-inf", "red:1e999", "red:inf_[left]"])
def test_an_infinite_prompt_weight_is_refused_when_the_plan_is_built(scenes: str):
    with pytest.raises(PromptError, match=r"^scenes: scene 1, prompt 1: bad weight: the value is infinite"):
        build_plan(load_settings(BASE, [f"scenes={scenes}"]))


def test_an_infinite_stop_stays_allowed_and_an_infinite_expression_setting_is_refused():
    plan = build_plan(load_settings(BASE, ["scenes=red:1:-inf"]))
    assert plan.scenes[0].prompts[0].stop.evaluate({"t": 0.0}) == -math.inf
    with pytest.raises(PromptError, match=r"^smoothing_weight: the value is infinite"):
        build_plan(load_settings(BASE, ["smoothing_weight='1e400'"]))


def test_a_weight_that_becomes_infinite_while_rendering_names_the_setting():
    weight = compile_expression("t * 1e307", setting="translate_x", variables=("t",))
    assert weight.evaluate({"t": 2.0}) == 2e307
    with pytest.raises(PromptError, match=r"^translate_x: cannot evaluate `t \* 1e307` with t=100.0: the result is infinite"):
        weight.evaluate({"t": 100.0})


@pytest.mark.parametrize(("document", "message"), [
    ("1: 2\n", "1 is not a setting name; setting names are text"),
    ("true: 2\n", "True is not a setting name; setting names are text"),
    ("null: 2\n", "a setting name is empty or not text"),
    ("width: " + "9" * 5000 + "\n", "holds a value that cannot be read: Exceeds the limit (4300 digits)"),
    ("scenes: " + "[" * 3000 + "\n", "its values are nested too deeply to read"),
    ("defaults: 5\n", "The settings cannot be composed: Invalid defaults list"),
])
def test_documents_that_crashed_the_loader_give_one_message(tmp_path: Path, document: str, message: str):
    path = tmp_path / "odd.yaml"
    path.write_text(document)
    code, err = run_main("settings", str(path))
    assert code == 2 and message in err and err.count("\n") == 1


@pytest.mark.parametrize(("override", "message"), [
    ("width=" + "9" * 5000, "the value cannot be read (Exceeds the limit (4300 digits)"),
    ("perceptors=" + "[" * 3000 + "]" * 3000, "nested too deeply"),
])
def test_overrides_that_crashed_the_loader_give_one_message(config: Path, override: str, message: str):
    code, err = run_main("settings", str(config), override)
    assert code == 2 and message in err


def test_the_command_refuses_a_non_finite_weight_in_a_subprocess(config: Path):
    result = subprocess.run([sys.executable, "-m", "dreamloom.cli", "settings", str(config), "scenes=red:inf"],
                            capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.startswith("dreamloom: error: scenes: scene 1, prompt 1: bad weight: the value is infinite")


# ---- random documents and overrides ------------------------------------------------------------------------

SCALARS = (st.none() | st.booleans() | st.integers(-(10**30), 10**30) | st.floats(allow_nan=True, allow_infinity=True)
           | st.text(max_size=12) | st.sampled_from(["${width}", "${now:%f}", "${oc.env:HOME}", "[", "'", "red:inf"]))
KEYS = (st.sampled_from([*SETTING_NAMES, "defaults", "hydra", "conf"]) | st.text(max_size=6) | st.integers(-3, 3)
        | st.booleans())
VALUES = st.recursive(SCALARS, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(KEYS, inner, max_size=3),
                      max_leaves=8)
DOCUMENTS = (st.dictionaries(KEYS, VALUES, max_size=5).map(lambda data: yaml.safe_dump(data, allow_unicode=True))
             | st.text(alphabet="{}[]:,-'\"#&*!|>%@` \n\tab1.", max_size=40))
OVERRIDE_VALUES = st.text(alphabet="0123456789.-+eE[](){}'\",:=$ abcinfnaTrue", max_size=12)
OVERRIDES = st.lists(st.builds("{}={}".format, st.sampled_from(SETTING_NAMES) | st.text(alphabet="abc_+~", max_size=4),
                               OVERRIDE_VALUES), max_size=3)


@pytest.fixture(scope="module")
def scratch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("random_settings")


@hypothesis_settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(document=DOCUMENTS, overrides=OVERRIDES)
def test_random_documents_and_overrides_end_in_exit_0_or_2(scratch: Path, document: str, overrides: list[str]):
    path = scratch / "random.yaml"
    path.write_text(document, encoding="utf-8")
    code, err = run_main("settings", str(path), *overrides)
    assert code in (0, 2), err
    assert "Traceback" not in err
