"""pytti configs in the shapes pytti users publish, loaded unchanged and compared key by key with pytti's values.

``pytti_configs/config`` is pytti's layout (``default.yaml`` as pytti ships it, confs under ``conf/``), so
each conf loads with the ``conf=NAME`` call of a pytti notebook. The expected values are what pytti's
Hydra composition hands its run: the conf's values over default.yaml's, interpolations resolved; a
dreamloom setting holds an expression's text where pytti keeps the YAML number.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from dreamloom.settings.loading import load_settings

CORPUS = Path(__file__).with_name("pytti_configs")
DEMO_SEED = -4854551145582748953

# What pytti's default.yaml gives every run, in dreamloom's dump (device 0 → "0", ${user_cache:} → "").
PYTTI_DEFAULTS: dict[str, Any] = {
    "scenes": "", "scene_prefix": "", "scene_suffix": "", "direct_image_prompts": "", "init_image": "",
    "direct_init_weight": "", "semantic_init_weight": "", "image_model": "Unlimited Palette", "vqgan_model": "sflckr",
    "animation_mode": "off", "width": 512, "height": 512, "steps_per_scene": 100, "steps_per_frame": 50,
    "interpolation_steps": 0, "learning_rate": None, "reset_lr_each_frame": True, "cutouts": 40, "cut_pow": 2.0,
    "cutout_border": 0.25, "border_mode": "clamp", "field_of_view": 60.0, "near_plane": 1.0, "far_plane": 10000.0,
    "input_audio": "", "input_audio_offset": 0.0, "input_audio_filters": [], "pre_animation_steps": 50,
    "lock_camera": True, "translate_x": "0", "translate_y": "0", "translate_z_3d": "0", "rotate_3d": "[1, 0, 0, 0]",
    "rotate_2d": "0", "zoom_x_2d": "0", "zoom_y_2d": "0", "sampling_mode": "bicubic", "infill_mode": "wrap",
    "pixel_size": 1, "smoothing_weight": "0.02", "random_initial_palette": False, "palette_size": 5, "palettes": 20,
    "gamma": 1.0, "hdr_weight": 0.01, "palette_normalization_weight": 0.2, "show_palette": False,
    "target_palette": "", "lock_palette": False, "frames_per_second": 12.0, "direct_stabilization_weight": "",
    "semantic_stabilization_weight": "", "depth_stabilization_weight": "", "edge_stabilization_weight": "",
    "flow_stabilization_weight": "", "video_path": "", "frame_stride": 1, "reencode_each_frame": True,
    "flow_long_term_samples": 1, "ViTB32": True, "ViTB16": False, "ViTL14": False, "ViTL14_336px": False,
    "RN50": False, "RN101": False, "RN50x4": False, "RN50x16": False, "RN50x64": False, "use_mmc": False,
    "file_namespace": "default", "allow_overwrite": False, "display_every": 50, "clear_every": 0,
    "display_scale": 1.0, "save_every": 50, "backups": 3, "show_graphs": False, "approximate_vram_usage": False,
    "use_tensorboard": False, "models_parent_dir": "", "gradient_accumulation_steps": 1, "device": "0",
}

DEMO = {
    "scenes": "a photograph of a lighthouse on a cliff | waves crashing on rocks:0.5\n"
              "|| a lighthouse at night, stars in the sky | moon:0.5\n",
    "scene_suffix": " | blurry:-.9:-.5", "image_model": "Limited Palette", "palettes": 9, "palette_size": 3,
    "gamma": 0.5, "width": 180, "height": 112, "pixel_size": 4, "direct_init_weight": "0", "animation_mode": "2D",
    "translate_x": "-1", "zoom_x_2d": "3", "zoom_y_2d": "3", "rotate_2d": "0.3 * sin(t)", "pre_animation_steps": 10,
    "steps_per_frame": 25, "steps_per_scene": 150, "interpolation_steps": 20, "save_every": 25, "display_every": 25,
    "seed": DEMO_SEED, "file_namespace": "pytti_demo", "cutouts": 32,
}
TEST_2D = {
    "scenes": "a cat | a dog", "steps_per_scene": 30, "steps_per_frame": 10, "pre_animation_steps": 0,
    "save_every": 10, "display_every": 10, "animation_mode": "2D", "translate_y": "1", "width": 64, "height": 64,
    "cutouts": 8, "seed": 15291079827822783929, "use_tensorboard": True, "allow_overwrite": True,
}
TUTORIAL = {
    "scenes": "a watercolor painting of a forest:(1 + fLo) | fog:fHi", "animation_mode": "Video Source",
    "video_path": "footage/walk.mp4", "frame_stride": 2, "reencode_each_frame": False,
    "flow_stabilization_weight": "10", "direct_stabilization_weight": "0.5_[footage/walk-mask.mp4]",
    "semantic_stabilization_weight": "1", "edge_stabilization_weight": "5", "input_audio": "audio/song.mp3",
    "input_audio_offset": 3.0, "steps_per_frame": 20, "save_every": 20, "frames_per_second": 15.0,
    "image_model": "VQGAN", "vqgan_model": "sflckr", "width": 360, "height": 640,
}
PERMUTATION = {
    "scenes": "an owl made of stained glass", "image_model": "Limited Palette", "steps_per_scene": 200,
    "save_every": 200, "display_every": 200, "file_namespace": "permutations", "seed": 7, "gamma": 0.0,
    "use_mmc": True, "ViTB32": False, "cutouts": 60, "learning_rate": 0.05,
    "mmc_models": [{"architecture": "clip", "publisher": "openai", "id": "ViT-B/32"},
                   {"architecture": "clip", "publisher": "mlfoundations", "id": "ViT-B-32--laion2b_e16"}],
}
PERMUTATION_OVERRIDES = [
    "conf=permutations",
    "use_mmc=true",
    ("+mmc_models=[{architecture:'clip',publisher:'openai',id:'ViT-B/32'},"
     "{architecture:'clip',publisher:'mlfoundations',id:'ViT-B-32--laion2b_e16'}]"),
    "ViTB32=false",
    "gamma=0",
    "++seed=7",
    "cutouts=60",
    "learning_rate=0.05",
]

# case: (the overrides a pytti user passes, the values pytti's run gets, keys compared by their own test)
CASES = {
    "shipped demo": (["conf=demo.yaml"], DEMO, set()),
    "pytti test conf": (["conf=test_2d"], TEST_2D, set()),
    "tutorial: Video Source with audio filters": (["conf=tutorial_video_source"], TUTORIAL, {"input_audio_filters"}),
    "permutation overrides": (PERMUTATION_OVERRIDES, PERMUTATION, set()),
}


def compared(dumped: dict[str, Any], expected: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
    """Every key of ``expected`` whose loaded value differs: ``{key: (dreamloom's, pytti's)}``."""
    return {key: (dumped.get(key), value) for key, value in expected.items() if dumped.get(key) != value}


@pytest.mark.parametrize("case", sorted(CASES))
def test_pytti_layout_confs_load_to_pytti_values_key_by_key(case: str):
    overrides, conf_values, elsewhere = CASES[case]
    dumped = load_settings(None, overrides, cwd=CORPUS).model_dump(mode="json")
    expected = {key: value for key, value in {**PYTTI_DEFAULTS, **conf_values}.items() if key not in elsewhere}
    assert compared(dumped, expected) == {}


def test_tutorial_audio_filters_and_now_seed():
    settings = load_settings(None, ["conf=tutorial_video_source"], cwd=CORPUS)
    bands = [(band.variable_name, band.f_center, band.f_width, band.order) for band in settings.input_audio_filters]
    assert bands == [("fLo", 105.0, 65.0, 5), ("fHi", 900.0, 600.0, 5)]
    assert 0 <= settings.seed < 1_000_000  # ${now:%f}: the microseconds of the load


def test_historical_default_with_nulls_and_old_spellings_loads_as_a_file():
    dumped = load_settings(CORPUS / "historical" / "default.yaml").model_dump(mode="json")
    expected = {
        "scenes": "a red apple", "image_model": "Limited Palette", "animation_mode": "off", "width": 180,
        "height": 112, "learning_rate": None, "input_audio_filters": [], "use_tensorboard": False, "init_image": "",
        "target_palette": "", "lock_palette": False, "gamma": 0.0, "models_parent_dir": "", "device": "0",
    }
    assert compared(dumped, expected) == {}


def test_a_conf_can_be_named_with_or_without_its_yaml_suffix():
    with_suffix = load_settings(None, ["conf=demo.yaml"], cwd=CORPUS)
    without = load_settings(None, ["conf=demo"], cwd=CORPUS)
    assert with_suffix == without
    assert with_suffix.seed == DEMO_SEED


def test_interpolations_follow_command_line_overrides_as_in_hydra():
    settings = load_settings(None, ["conf=demo", "steps_per_frame=3"], cwd=CORPUS)
    assert (settings.save_every, settings.display_every) == (3, 3)
