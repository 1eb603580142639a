"""Loading pytti-style files, aliases, overrides, the pytti config layout, and error reports."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml

from dreamloom.cli import main
from dreamloom.errors import SettingsError
from dreamloom.settings.dump import settings_to_yaml
from dreamloom.settings.loading import load_settings
from dreamloom.settings.schema import SETTING_NAMES

PYTTI_DEFAULTS = Path(__file__).with_name("pytti_default.yaml")

DEMO_CONF = """\
# @package _global_
scenes: a red circle | blue:-1
steps_per_scene: 30
animation_mode: off
image_model: Limimted Palette
vqgan_model: sflickr
target_pallete: colours.png
lock_pallete: true
seed: ${now:%f}
backups: all
"""


@pytest.fixture
def pytti_folder(tmp_path: Path) -> Path:
    (tmp_path / "config" / "conf").mkdir(parents=True)
    (tmp_path / "config" / "default.yaml").write_text(PYTTI_DEFAULTS.read_text())
    (tmp_path / "config" / "conf" / "demo.yaml").write_text(DEMO_CONF)
    return tmp_path


def test_pytti_layout_and_aliases(pytti_folder: Path):
    settings = load_settings(None, ["conf=demo", "cutouts=8"], cwd=pytti_folder)
    assert settings.scenes == "a red circle | blue:-1"
    assert settings.steps_per_scene == 30
    assert settings.animation_mode.value == "off"
    assert settings.image_model.value == "Limited Palette"
    assert settings.vqgan_model.value == "sflckr"
    assert settings.target_palette == "colours.png"
    assert settings.lock_palette is True
    assert settings.backups == "all"
    assert settings.cutouts == 8
    assert settings.smoothing_weight == "0.02"  # from config/default.yaml


def test_conf_overrides_beat_default_file_and_command_line_beats_both(pytti_folder: Path):
    settings = load_settings(None, ["conf=demo", "steps_per_scene=7"], cwd=pytti_folder)
    assert settings.steps_per_scene == 7


class _FixedClock:
    """Stands in for hydra's ``datetime`` so that ``${now:%f}`` reads a known microsecond count."""

    @staticmethod
    def now():
        import datetime

        return datetime.datetime(2024, 1, 2, 3, 4, 5, 654_321)


def test_settings_command_prints_every_setting(pytti_folder: Path, monkeypatch, capsys):
    monkeypatch.chdir(pytti_folder)
    monkeypatch.setattr("hydra.core.utils.datetime", _FixedClock)
    assert main(["settings", "conf=demo"]) == 0
    printed = yaml.safe_load(capsys.readouterr().out)
    assert list(printed) == list(SETTING_NAMES)
    assert printed["seed"] == 654_321  # ${now:%f}: the clock's microseconds, as an integer
    assert printed["image_model"] == "Limited Palette"


def test_printed_settings_load_back_identically(pytti_folder: Path, tmp_path: Path):
    settings = load_settings(None, ["conf=demo"], cwd=pytti_folder)
    saved = tmp_path / "resolved.yaml"
    saved.write_text(settings_to_yaml(settings))
    assert load_settings(saved) == settings


def test_all_errors_of_a_file_are_reported_together(tmp_path: Path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("cutouts: 0\ncut_pow: -1\nwidth: 0\npalette_size: 0\nframes_per_second: 0\nimag_model: VQGAN\n")
    with pytest.raises(SettingsError) as caught:
        load_settings(bad)
    message = str(caught.value)
    assert "6 problems" in message
    for fragment in ("cutouts = 0", "cut_pow = -1", "width = 0", "palette_size = 0", "frames_per_second = 0"):
        assert f"{fragment} (from {bad})" in message
    assert f"imag_model (in {bad}): unknown setting. Did you mean 'image_model'?" in message


def test_cross_field_rules():
    with pytest.raises(SettingsError, match=r"gradient_accumulation_steps: 3 does not divide cutouts \(40\)"):
        load_settings({"gradient_accumulation_steps": 3})
    with pytest.raises(SettingsError, match="width: -1 needs an init_image"):
        load_settings({"width": -1})
    assert load_settings({"width": -1, "init_image": "x.png"}).width == -1


def test_unknown_key_without_close_match_points_to_reference():
    with pytest.raises(SettingsError, match="zzzz .*unknown setting. See docs/settings.md"):
        load_settings({"zzzz": 1})


def test_yaml_syntax_error_names_file_and_line(tmp_path: Path):
    bad = tmp_path / "broken.yaml"
    bad.write_text("scenes: a\ncutouts: [1, 2\n")
    with pytest.raises(SettingsError, match=r"broken.yaml: not valid YAML at line \d+"):
        load_settings(bad)


def test_missing_file_and_non_mapping(tmp_path: Path):
    with pytest.raises(SettingsError, match="Config file not found: .*nope.yaml"):
        load_settings(tmp_path / "nope.yaml")
    listing = tmp_path / "list.yaml"
    listing.write_text("- a\n- b\n")
    with pytest.raises(SettingsError, match="must hold a mapping of settings"):
        load_settings(listing)
    with pytest.raises(SettingsError, match="Config file not found: .*conf/absent.yaml"):
        load_settings(None, ["conf=absent"], cwd=tmp_path)


def test_unsupported_interpolation_is_refused():
    with pytest.raises(SettingsError, match=r"scenes \(in the settings mapping\): the interpolation \$\{oc.env:...\} is not allowed"):
        load_settings({"scenes": "${oc.env:HOME}"})


def test_malformed_override():
    with pytest.raises(SettingsError, match="must look like key=value"):
        load_settings({}, ["=3"])


def test_hydra_header_defaults_list_and_missing_marker(tmp_path: Path):
    config = tmp_path / "c.yaml"
    config.write_text(textwrap.dedent("""\
        # @package _global_
        defaults:
          - _self_
          - conf: _empty
        scenes: ???
        models_parent_dir: ${user_cache:}
        """))
    settings = load_settings(config)
    assert settings.scenes == "" and settings.models_parent_dir == ""


def test_seed_is_drawn_when_absent_and_kept_when_given(monkeypatch):
    """An absent seed is a fresh draw below 2³¹ (pytti's range), not a fixed number; a given one is kept."""
    asked: list[int] = []
    draws = iter([987_654, 12])
    monkeypatch.setattr("dreamloom.settings.loading.secrets.randbelow", lambda bound: asked.append(bound) or next(draws))
    assert load_settings({}).seed == 987_654
    assert load_settings({"seed": None}).seed == 12
    assert asked == [2**31, 2**31]
    assert load_settings({"seed": 1234}).seed == 1234 and len(asked) == 2


def test_integer_device_from_pytti_configs_is_accepted():
    assert load_settings({"device": 0}).device == "0"


def test_cli_exit_code_two_and_no_traceback(tmp_path: Path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("cutouts: 0\n")
    result = subprocess.run([sys.executable, "-m", "dreamloom.cli", "settings", str(bad)], capture_output=True, text=True)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "cutouts = 0" in result.stderr


def test_cli_refuses_two_config_files(capsys):
    assert main(["settings", "a.yaml", "b.yaml"]) == 2
    assert "Only one config file" in capsys.readouterr().err


def test_overrides_may_follow_options(capsys):
    assert main(["settings", "--example", "demo", "cutouts=8"]) == 0
    assert yaml.safe_load(capsys.readouterr().out)["cutouts"] == 8
    with pytest.raises(SystemExit) as caught:
        main(["settings", "--example", "demo", "--bogus"])
    assert caught.value.code == 2


@pytest.mark.parametrize("raw", [False, None, "OFF", "off"])
def test_yaml_off_selects_off_for_every_choice_that_has_it(raw):
    settings = load_settings({"animation_mode": raw, "video_format": raw})
    assert settings.animation_mode.value == "off" and settings.video_format.value == "off"
