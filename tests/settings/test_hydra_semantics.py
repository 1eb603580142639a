"""pytti's Hydra semantics: interpolations, seeds, conf names, the override grammar, nulls, defaults lists;
and what stays refused (resolvers that read the machine, bad entries), each with one clear message."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
import torch
from hydra import initialize
from hydra.core.global_hydra import GlobalHydra
from omegaconf import OmegaConf

from dreamloom.cli import main
from dreamloom.errors import SettingsError
from dreamloom.images.factory import build_image_model
from dreamloom.settings.loading import load_settings

CORPUS = Path(__file__).with_name("pytti_configs")


def write(folder: Path, text: str, name: str = "c.yaml") -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return path


def test_interpolation_of_another_setting_from_the_cli(tmp_path: Path, capsys):
    config = write(tmp_path, "scenes: a\nsteps_per_frame: 3\nsave_every: ${steps_per_frame}\n")
    assert main(["settings", str(config)]) == 0
    assert "\nsave_every: 3\n" in capsys.readouterr().out


def test_interpolation_of_a_default_and_of_an_unknown_key(tmp_path: Path):
    assert load_settings(write(tmp_path, "display_every: ${steps_per_frame}\n")).display_every == 50
    with pytest.raises(SettingsError, match=r"save_every \(in .*c.yaml\): cannot resolve its interpolation .*stepz"):
        load_settings(write(tmp_path, "save_every: ${stepz}\n"))


@pytest.mark.parametrize("seed", [-(2**63), -4854551145582748953, 15291079827822783929, 2**64 - 1])
def test_every_seed_torch_accepts_loads(seed: int):
    assert load_settings({}, [f"seed={seed}"]).seed == seed


@pytest.mark.parametrize("seed", [-(2**63) - 1, 2**64])
def test_seeds_torch_refuses_are_refused(seed: int):
    with pytest.raises(SettingsError, match=f"seed = {seed} \\(from the command line\\)"):
        load_settings({}, [f"seed={seed}"])


def test_conf_name_with_yaml_suffix_from_the_cli(capsys, monkeypatch):
    monkeypatch.chdir(CORPUS)
    assert main(["settings", "conf=demo.yaml"]) == 0
    assert "\nseed: -4854551145582748953\n" in capsys.readouterr().out


def test_override_grammar_reads_lists_of_dicts_as_hydra_does():
    override = "mmc_models=[{architecture:'clip',publisher:'openai',id:'ViT-B/32'}]"
    settings = load_settings({}, [override, "use_mmc=true"])
    assert settings.mmc_models[0].model_dump() == {"architecture": "clip", "publisher": "openai", "id": "ViT-B/32"}
    assert settings.perceptor_names() == ["ViTB32"]


def test_plus_plus_plus_and_tilde_overrides(tmp_path: Path):
    config = write(tmp_path, "scenes: a\nseed: 5\ncutouts: 8\n")
    settings = load_settings(config, ["+cutouts=16", "++cut_pow=3", "~seed", "+perceptors=[demo]"])
    assert (settings.cutouts, settings.cut_pow, settings.perceptors) == (16, 3.0, ["demo"])
    assert settings.seed != 5  # deleted: a seed is drawn


def test_tilde_override_is_not_taken_for_a_config_file(tmp_path: Path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write(tmp_path, "scenes: a\nseed: 5\n")
    assert main(["settings", "c.yaml", "~seed"]) == 0
    assert "\nseed: 5\n" not in capsys.readouterr().out


def test_text_the_grammar_cannot_read_is_taken_literally():
    settings = load_settings({}, ["translate_y=sin(t)", "scenes=a photo, a cat", "direct_stabilization_weight=2_[m.mp4]",
                                  "scene_suffix=it's \\ fine", "scene_prefix=a, \\'b\\"])
    assert settings.translate_y == "sin(t)"
    assert settings.scenes == "a photo, a cat"
    assert settings.direct_stabilization_weight == "2_[m.mp4]"
    assert settings.scene_suffix == "it's \\ fine"
    assert settings.scene_prefix == "a, \\'b\\"  # backslashes before a quote and at the end survive quoting


def test_a_sweep_of_a_number_is_refused_with_hydras_advice():
    with pytest.raises(SettingsError, match=r"Override 'cutouts=8,16' on the command line: .*sweep.*key=\[a,b\]"):
        load_settings({}, ["cutouts=8,16"])


def test_unknown_override_keys_are_all_reported_with_did_you_mean():
    with pytest.raises(SettingsError) as caught:
        load_settings({}, ["cutoutz=3", "~sead", "+scens=a"])
    message = str(caught.value)
    assert "3 problems" in message
    for line in ("cutoutz (in the command line): unknown setting. Did you mean 'cutouts'?",
                 "sead (in the command line): unknown setting. Did you mean 'seed'?",
                 "scens (in the command line): unknown setting. Did you mean 'scenes'?"):
        assert line in message


def test_old_spellings_set_their_setting_unless_the_command_line_names_it_rightly(tmp_path: Path):
    config = write(tmp_path, "target_pallete: a.png\nlock_palette: false\n")
    assert load_settings(config).target_palette == "a.png"
    assert load_settings(config, ["target_palette=b.png"]).target_palette == "b.png"
    assert load_settings(config, ["lock_pallete=true"]).lock_palette is True


@pytest.mark.parametrize(("key", "empty"), [("input_audio_filters", []), ("use_tensorboard", False), ("ViTB32", False),
                                            ("init_image", ""), ("mmc_models", []), ("learning_rate", None)])
def test_null_means_not_set(tmp_path: Path, key: str, empty):
    settings = load_settings(write(tmp_path, f"{key}: null\n"))
    assert getattr(settings, key) == empty


def test_null_for_a_number_is_still_refused():
    with pytest.raises(SettingsError, match=r"cutouts = None .*: must be a valid integer"):
        load_settings({"cutouts": None})


def test_gamma_zero_loads_and_builds_a_finite_palette_image():
    settings = load_settings({"image_model": "Limited Palette", "gamma": 0, "seed": 1})
    image = build_image_model(settings, 8, 6, torch.device("cpu"))
    assert settings.gamma == 0.0
    assert torch.isfinite(image.decode()).all()
    with pytest.raises(SettingsError, match="gamma = -0.5 .*greater than or equal to 0"):
        load_settings({"gamma": -0.5})


def test_a_bad_mmc_entry_names_the_entry_not_the_list():
    with pytest.raises(SettingsError) as caught:
        load_settings({"use_mmc": True, "mmc_models": [{"architecture": "clip", "publisher": "openai", "id": "ViT-B/32"},
                                                       {"architecture": "clip", "id": "ViT-B/16"}]})
    message = str(caught.value)
    assert "mmc_models: entry 1 {'architecture': 'clip', 'id': 'ViT-B/16'} needs publisher" in message
    assert "'publisher': 'openai'" not in message  # the good entry is not shown


def test_a_cloob_entry_is_refused_by_name_only_when_used():
    cloob = [{"architecture": "cloob", "publisher": "crowsonkb", "id": "cloob_laion_400m_vit_b_16_32_epochs"}]
    with pytest.raises(SettingsError, match="CLOOB perceptors are not supported \\(yet\\); use a CLIP model"):
        load_settings({"use_mmc": True, "mmc_models": cloob})
    assert load_settings({"use_mmc": False, "mmc_models": cloob}).perceptor_names() == ["ViTB32"]  # pytti ignores them


def test_a_wrong_type_inside_an_entry_shows_that_value(tmp_path: Path):
    config = write(tmp_path, "input_audio_filters:\n  - {variable_name: fLo, f_center: low, f_width: 65}\n")
    with pytest.raises(SettingsError, match=r"input_audio_filters.0.f_center = 'low' \(from .*c.yaml\): must be a valid number"):
        load_settings(config)


def test_defaults_list_groups_other_than_conf_are_composed(tmp_path: Path):
    write(tmp_path, """\
        defaults:
          - _self_
          - style: watercolor
        scenes: a fox
        """)
    write(tmp_path, "# @package _global_\nscene_suffix: ' | watercolor'\ncutouts: 12\n", "style/watercolor.yaml")
    write(tmp_path, "# @package _global_\nscene_suffix: ' | oil'\n", "style/oil.yaml")
    settings = load_settings(tmp_path / "c.yaml")
    assert (settings.scene_suffix, settings.cutouts) == (" | watercolor", 12)
    assert load_settings(tmp_path / "c.yaml", ["style=oil"]).scene_suffix == " | oil"


def test_a_conf_without_the_package_line_is_refused_with_the_fix():
    with pytest.raises(SettingsError, match="first line is not '# @package _global_'.*add that line"):
        load_settings(None, ["conf=no_header"], cwd=CORPUS / "unheadered")


@pytest.mark.parametrize("text", ["${oc.env:HOME}", "${env:HOME}", "${hydra:runtime.cwd}", "a ${oc.decode:${oc.env:X}}",
                                  "${custom:1}"])
def test_resolvers_that_could_read_the_machine_are_refused(tmp_path: Path, text: str):
    OmegaConf.register_new_resolver("custom", lambda value: value, replace=True)
    with pytest.raises(SettingsError, match=r"file_namespace \(in .*c.yaml\): the interpolation \$\{.*\} is not allowed"):
        load_settings(write(tmp_path, f"file_namespace: '{text}'\n"))


def test_now_and_user_cache_keep_working(tmp_path: Path):
    settings = load_settings(write(tmp_path, "file_namespace: run_${now:%Y}\nmodels_parent_dir: ${user_cache:}\n"))
    assert settings.file_namespace.startswith("run_2") and len(settings.file_namespace) == 8
    assert settings.models_parent_dir == ""


def test_a_callers_own_hydra_is_left_initialised():
    with initialize(version_base=None, config_path=None):
        load_settings({}, ["cutouts=8"])
        assert GlobalHydra.instance().is_initialized()
    assert not GlobalHydra.instance().is_initialized()


@pytest.mark.parametrize(("items", "fragment"), [
    (["c.yaml", "cutouts=0"], "cutouts = 0 (from the command line): must be greater than or equal to 1"),
    (["c.yaml", "cutouts=8,16"], "a list of values (a sweep) is not one value"),
    (["conf=absent"], "Config file not found:"),
    (["c.yaml", "scenes=${oc.env:HOME}"], "scenes (in the command line): the interpolation ${oc.env:...} is not allowed"),
])
def test_invalid_settings_exit_two_with_one_message(tmp_path: Path, capsys, monkeypatch, items, fragment):
    monkeypatch.chdir(tmp_path)
    write(tmp_path, "scenes: a\n")
    assert main(["settings", *items]) == 2
    error = capsys.readouterr().err
    assert fragment in error and error.count("dreamloom: error:") == 1
