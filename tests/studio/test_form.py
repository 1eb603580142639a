"""The studio's form is the schema: every setting, in the docs' sections, through YAML and back without loss;
its checks speak the command line's words."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from pydantic import Field

from dreamloom.cli import main
from dreamloom.settings.loading import load_settings
from dreamloom.settings.schema import SETTING_NAMES, Settings
from dreamloom.settings.sections import SECTION_STARTS, settings_by_section
from dreamloom.studio.form import (
    FieldKind,
    form_fields,
    form_yaml,
    from_form,
    problems_by_setting,
    to_form,
)
from dreamloom.studio.validation import check_form

FIELDS = form_fields()


def test_every_setting_of_the_schema_has_a_field_with_its_help_and_default():
    assert [field.name for field in FIELDS] == list(SETTING_NAMES)
    by_name = {field.name: field for field in FIELDS}
    for name, info in Settings.model_fields.items():
        assert by_name[name].help == info.description
    assert by_name["cutouts"].default == 40 and by_name["cutouts"].kind is FieldKind.INTEGER
    assert by_name["cut_pow"].kind is FieldKind.NUMBER
    assert by_name["ViTB32"].default is True and by_name["ViTB32"].kind is FieldKind.CHECK
    assert by_name["image_model"].choices == ("Unlimited Palette", "Limited Palette", "VQGAN")
    assert by_name["image_model"].default == "Unlimited Palette"
    assert by_name["perceptors"].kind is FieldKind.YAML and by_name["perceptors"].default == "[]"
    assert by_name["backups"].kind is FieldKind.YAML and by_name["backups"].default == "3"
    assert by_name["seed"].default == "null"


def test_a_setting_added_to_the_schema_appears_in_the_form_in_the_section_it_is_written_in():
    class Grown(Settings):
        glow: float = Field(default=0.5, description="A setting the studio has never heard of.")

    added = form_fields(Grown)[-1]
    assert (added.name, added.kind, added.default, added.help) == ("glow", FieldKind.NUMBER, 0.5, "A setting the studio has never heard of.")
    assert added.section == SECTION_STARTS[-1][0]


def test_sections_follow_the_schema_and_cover_every_setting():
    groups = settings_by_section()
    assert [title for title, _ in groups] == [title for title, _ in SECTION_STARTS]
    assert [name for _, names in groups for name in names] == list(SETTING_NAMES)
    assert [names[0] for _, names in groups] == [first for _, first in SECTION_STARTS]
    assert dict(groups)["Audio"] == ["input_audio", "input_audio_offset", "input_audio_filters", "input_audio_beat_half_life"]


def _through_yaml(values: dict) -> dict:
    """form -> YAML file text -> the loader -> form."""
    text = form_yaml(FIELDS, values)
    return to_form(FIELDS, load_settings(yaml.safe_load(text)).model_dump(mode="json"))


def test_form_to_yaml_to_form_is_lossless_for_defaults_and_for_every_kind_of_value():
    defaults = to_form(FIELDS, load_settings({"seed": 5}).model_dump(mode="json"))
    assert _through_yaml(defaults) == defaults
    changed = dict(defaults)
    changed.update({
        "scenes": "a lighthouse:2 | fog:-1:-0.9 || a city: sin(t)+1_r", "cutouts": 12, "cut_pow": 1.25,
        "ViTB32": False, "image_model": "Limited Palette", "backups": "all", "seed": str(2**64 - 1),
        "learning_rate": "0.05", "perceptors": "[demo, ViT-B-32/openai]", "rotate_3d": "[1, 0, 0.5, 0]",
        "translate_x": "10*fHi", "input_audio": "song.mp3",
        "input_audio_filters": "[{variable_name: fHi, f_center: 8000, f_width: 4000, order: 3, attack: 0.1}]",
        "mmc_models": "[{architecture: clip, publisher: openai, id: ViT-B/16}]", "smoothing_weight": "-0.5",
    })
    again = _through_yaml(changed)
    assert again == {**changed, "learning_rate": "0.05", "input_audio_filters":
                     "[{variable_name: fHi, f_center: 8000.0, f_width: 4000.0, order: 3, attack: 0.1, release: 0.0}]",
                     "mmc_models": "[{architecture: clip, publisher: openai, id: ViT-B/16}]"}
    assert _through_yaml(again) == again


def test_whole_numbers_a_browser_sends_as_floats_stay_integers_for_integer_settings():
    values = to_form(FIELDS, {})
    values.update(cutouts=12.0, cut_pow=3.0)
    mapping, _ = from_form(FIELDS, values)
    assert type(mapping["cutouts"]) is int and mapping["cutouts"] == 12
    assert type(mapping["cut_pow"]) is float


def test_yaml_that_does_not_parse_is_a_problem_of_its_field():
    values = to_form(FIELDS, {})
    values["perceptors"] = "[demo"
    mapping, problems = from_form(FIELDS, values)
    assert "perceptors" not in mapping
    assert list(problems) == ["perceptors"] and problems["perceptors"].startswith("perceptors: not valid YAML")


def test_problems_are_split_by_the_setting_they_name():
    message = ("Invalid settings (3 problems; read from c.yaml):\n  - cutouts = 0 (from c.yaml): must be at least 1.\n"
               "  - target_pallete = 3 (from c.yaml): must be a string.\n  - bogus (in c.yaml): unknown setting.")
    assert problems_by_setting(message, set(SETTING_NAMES)) == {
        "cutouts": ["cutouts = 0 (from c.yaml): must be at least 1."],
        "target_palette": ["target_pallete = 3 (from c.yaml): must be a string."],
        "": ["bogus (in c.yaml): unknown setting."],
    }
    pointed = "scenes: scene 1, prompt 1: bad weight\n    red:x\n        ^"
    assert problems_by_setting(pointed, set(SETTING_NAMES)) == {"scenes": [pointed]}


def test_the_check_uses_the_command_lines_loader_and_words(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    values = to_form(FIELDS, {"scenes": "red", "perceptors": ["demo"], "ViTB32": False, "cutouts": 4,
                              "gradient_accumulation_steps": 3, "translate_x": "sin(", "output_dir": "out"})
    config = tmp_path / "form.yaml"
    checked = check_form(FIELDS, values, tmp_path / "out", tmp_path, config)
    assert checked.settings is None
    assert main(["settings", str(config)]) == 2
    printed = capsys.readouterr().err
    assert set(checked.problems) == {"gradient_accumulation_steps"}
    assert checked.problems["gradient_accumulation_steps"][0] in printed
    values["gradient_accumulation_steps"] = 2
    checked = check_form(FIELDS, values, tmp_path / "out", tmp_path, config)
    assert list(checked.problems) == ["translate_x"] and checked.problems["translate_x"][0].startswith("translate_x:")
    values["translate_x"] = "sin(t)"
    values["output_dir"] = "../elsewhere"
    checked = check_form(FIELDS, values, tmp_path / "out", tmp_path, config)
    assert list(checked.problems) == ["output_dir"] and "is outside" in checked.problems["output_dir"][0]
    values["output_dir"] = "out"
    checked = check_form(FIELDS, values, tmp_path / "out", tmp_path, config)
    assert checked.problems == {} and checked.settings is not None
    assert yaml.safe_load(checked.yaml)["translate_x"] == "sin(t)"
