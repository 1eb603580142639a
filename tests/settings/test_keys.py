"""Every setting: its pytti default, a valid override, and an invalid value with the message it gives."""

from __future__ import annotations

import datetime
from pathlib import Path

import pytest
import yaml

from dreamloom.errors import SettingsError
from dreamloom.settings.loading import load_settings
from dreamloom.settings.schema import SETTING_NAMES

PYTTI_DEFAULTS = Path(__file__).with_name("pytti_default.yaml")

# key: (default after loading, an override as typed on the command line, its loaded value,
#       an invalid override or None where every value of the type is valid, a fragment of its error)
TABLE = {
    "scenes": ("", "scenes=a cat | a dog", "a cat | a dog", None, None),
    "scene_prefix": ("", "scene_prefix=oil painting of ", "oil painting of", None, None),
    "scene_suffix": ("", "scene_suffix=:2", ":2", None, None),
    "interpolation_steps": (0, "interpolation_steps=20", 20, "interpolation_steps=-1", "greater than or equal to 0"),
    "steps_per_scene": (100, "steps_per_scene=300", 300, "steps_per_scene=0", "greater than or equal to 1"),
    "direct_image_prompts": ("", "direct_image_prompts=a.png:2", "a.png:2", None, None),
    "init_image": ("", "init_image=x.png", "x.png", None, None),
    "direct_init_weight": ("", "direct_init_weight=0.5", "0.5", "direct_init_weight=true", "valid string"),
    "semantic_init_weight": ("", "semantic_init_weight=sin(t)", "sin(t)", "semantic_init_weight={a: 1}", "valid string"),
    "width": (512, "width=256", 256, "width=0", "at least 1, or -1"),
    "height": (512, "height=128", 128, "height=-5", "at least 1, or -1"),
    "pixel_size": (1, "pixel_size=4", 4, "pixel_size=0", "greater than or equal to 1"),
    "smoothing_weight": ("0.02", "smoothing_weight=-0.1", "-0.1", "smoothing_weight=false", "valid string"),
    "image_model": ("Unlimited Palette", "image_model=VQGAN", "VQGAN", "image_model=Pixels", "'Unlimited Palette', 'Limited Palette' or 'VQGAN'"),
    "vqgan_model": ("sflckr", "vqgan_model=imagenet", "imagenet", "vqgan_model=faces", "'openimages' or 'imagenet_1024'"),
    "random_initial_palette": (False, "random_initial_palette=true", True, "random_initial_palette=maybe", "valid boolean"),
    "palette_size": (5, "palette_size=3", 3, "palette_size=0", "greater than or equal to 1"),
    "palettes": (20, "palettes=9", 9, "palettes=0", "greater than or equal to 1"),
    "gamma": (1.0, "gamma=0.5", 0.5, "gamma=-1", "greater than or equal to 0"),
    "hdr_weight": (0.01, "hdr_weight=0.5", 0.5, "hdr_weight=x", "valid number"),
    "palette_normalization_weight": (0.2, "palette_normalization_weight=1", 1.0, "palette_normalization_weight=[1]", "valid number"),
    "show_palette": (False, "show_palette=on", True, "show_palette=2", "valid boolean"),
    "target_palette": ("", "target_palette=p.png", "p.png", None, None),
    "lock_palette": (False, "lock_palette=yes", True, "lock_palette=sometimes", "valid boolean"),
    "animation_mode": ("off", "animation_mode=3D", "3D", "animation_mode=4D", "'off', '2D', '3D' or 'Video Source'"),
    "sampling_mode": ("bicubic", "sampling_mode=nearest", "nearest", "sampling_mode=lanczos", "'nearest', 'bilinear' or 'bicubic'"),
    "infill_mode": ("wrap", "infill_mode=smear", "smear", "infill_mode=clamp", "'mirror', 'wrap', 'black' or 'smear'"),
    "pre_animation_steps": (50, "pre_animation_steps=0", 0, "pre_animation_steps=-3", "greater than or equal to 0"),
    "steps_per_frame": (50, "steps_per_frame=10", 10, "steps_per_frame=0", "greater than or equal to 1"),
    "frames_per_second": (12.0, "frames_per_second=24", 24.0, "frames_per_second=0", "greater than 0"),
    "direct_stabilization_weight": ("", "direct_stabilization_weight=2_[m.mp4]", "2_[m.mp4]", "direct_stabilization_weight=true", "valid string"),
    "semantic_stabilization_weight": ("", "semantic_stabilization_weight=1", "1", "semantic_stabilization_weight=false", "valid string"),
    "depth_stabilization_weight": ("", "depth_stabilization_weight=0.3", "0.3", "depth_stabilization_weight=true", "valid string"),
    "edge_stabilization_weight": ("", "edge_stabilization_weight=5", "5", "edge_stabilization_weight=true", "valid string"),
    "flow_stabilization_weight": ("", "flow_stabilization_weight=10", "10", "flow_stabilization_weight=false", "valid string"),
    "video_path": ("", "video_path=v.mp4", "v.mp4", None, None),
    "frame_stride": (1, "frame_stride=2", 2, "frame_stride=0", "greater than or equal to 1"),
    "reencode_each_frame": (True, "reencode_each_frame=off", False, "reencode_each_frame=4", "valid boolean"),
    "flow_long_term_samples": (1, "flow_long_term_samples=2", 2, "flow_long_term_samples=-1", "greater than or equal to 0"),
    "optical_flow_model": ("raft-large", "optical_flow_model=DIS", "dis", "optical_flow_model=gma", "'raft-large', 'raft-small' or 'dis'"),
    "translate_x": ("0", "translate_x=-1.5", "-1.5", "translate_x=true", "valid string"),
    "translate_y": ("0", "translate_y=sin(t)", "sin(t)", "translate_y=true", "valid string"),
    "translate_z_3d": ("0", "translate_z_3d=10", "10", "translate_z_3d=false", "valid string"),
    "rotate_3d": ("[1, 0, 0, 0]", "rotate_3d=[1, 0, 0.1, 0]", "[1, 0, 0.1, 0]", "rotate_3d=false", "valid string"),
    "rotate_2d": ("0", "rotate_2d=5", "5", "rotate_2d=false", "valid string"),
    "zoom_x_2d": ("0", "zoom_x_2d=1", "1", "zoom_x_2d=false", "valid string"),
    "zoom_y_2d": ("0", "zoom_y_2d=2", "2", "zoom_y_2d=true", "valid string"),
    "lock_camera": (True, "lock_camera=false", False, "lock_camera=5", "valid boolean"),
    "field_of_view": (60.0, "field_of_view=45", 45.0, "field_of_view=180", "less than 180"),
    "near_plane": (1.0, "near_plane=200", 200.0, "near_plane=0", "greater than 0"),
    "far_plane": (10000.0, "far_plane=15000", 15000.0, "far_plane=0.5", "greater than near_plane"),
    "depth_model": ("depth-anything-v2-small", "depth_model=Flat", "flat", "depth_model=adabins",
                    "'depth-anything-v2-small', 'depth-anything-v2-base' or 'flat'"),
    "input_audio": ("", "input_audio=song.mp3", "song.mp3", None, None),
    "input_audio_offset": (0.0, "input_audio_offset=2.5", 2.5, "input_audio_offset=-1", "greater than or equal to 0"),
    "input_audio_filters": ([], "input_audio_filters=[{variable_name: fLo, f_center: 105, f_width: 65}]",
                            [{"variable_name": "fLo", "f_center": 105.0, "f_width": 65.0, "order": 5, "attack": 0.0, "release": 0.0}],
                            "input_audio_filters=[{variable_name: 2x, f_center: 105, f_width: 65}]", "starts with a letter"),
    "input_audio_beat_half_life": (0.25, "input_audio_beat_half_life=0.5", 0.5, "input_audio_beat_half_life=-1", "greater than or equal to 0"),
    "file_namespace": ("default", "file_namespace=forest", "forest", "file_namespace=a/b", "plain folder name"),
    "allow_overwrite": (False, "allow_overwrite=true", True, "allow_overwrite=7", "valid boolean"),
    "display_every": (50, "display_every=10", 10, "display_every=-1", "greater than or equal to 0"),
    "clear_every": (0, "clear_every=100", 100, "clear_every=-2", "greater than or equal to 0"),
    "display_scale": (1.0, "display_scale=0.5", 0.5, "display_scale=0", "greater than 0"),
    "save_every": (50, "save_every=0", 0, "save_every=-1", "greater than or equal to 0"),
    "backups": (3, "backups=all", "all", "backups=-1", "number of backups (0 or more) or 'all'"),
    "show_graphs": (False, "show_graphs=true", True, "show_graphs=graph", "valid boolean"),
    "approximate_vram_usage": (False, "approximate_vram_usage=true", True, "approximate_vram_usage=3", "valid boolean"),
    "use_tensorboard": (False, "use_tensorboard=true", True, "use_tensorboard=x", "valid boolean"),
    "output_dir": ("images_out", "output_dir=/tmp/out", "/tmp/out", None, None),
    "backup_dir": ("backup", "backup_dir=bak", "bak", None, None),
    "video_format": ("mp4", "video_format=off", "off", "video_format=avi", "'off', 'mp4', 'gif' or 'webm'"),
    "video_crf": (18, "video_crf=23", 23, "video_crf=52", "less than or equal to 51"),
    "ViTB32": (True, "ViTB32=false", False, "ViTB32=2", "valid boolean"),
    "ViTB16": (False, "ViTB16=true", True, "ViTB16=2", "valid boolean"),
    "ViTL14": (False, "ViTL14=true", True, "ViTL14=2", "valid boolean"),
    "ViTL14_336px": (False, "ViTL14_336px=true", True, "ViTL14_336px=2", "valid boolean"),
    "RN50": (False, "RN50=true", True, "RN50=2", "valid boolean"),
    "RN101": (False, "RN101=true", True, "RN101=2", "valid boolean"),
    "RN50x4": (False, "RN50x4=true", True, "RN50x4=2", "valid boolean"),
    "RN50x16": (False, "RN50x16=true", True, "RN50x16=2", "valid boolean"),
    "RN50x64": (False, "RN50x64=true", True, "RN50x64=2", "valid boolean"),
    "perceptors": ([], "perceptors=[demo, ViT-B-32/laion2b_s34b_b79k]", ["demo", "ViT-B-32/laion2b_s34b_b79k"], "perceptors=demo", "valid list"),
    "use_mmc": (False, "use_mmc=true", True, "use_mmc=9", "valid boolean"),
    "mmc_models": ([], "mmc_models=[{architecture: clip, publisher: openai, id: ViT-B/32}]",
                   [{"architecture": "clip", "publisher": "openai", "id": "ViT-B/32"}], "mmc_models=[3]", "valid dictionary"),
    "learning_rate": (None, "learning_rate=0.05", 0.05, "learning_rate=0", "greater than 0"),
    "reset_lr_each_frame": (True, "reset_lr_each_frame=false", False, "reset_lr_each_frame=x", "valid boolean"),
    "seed": (None, "seed=42", 42, "seed=18446744073709551616", "less than 18446744073709551616"),
    "cutouts": (40, "cutouts=32", 32, "cutouts=0", "greater than or equal to 1"),
    "cut_pow": (2.0, "cut_pow=1", 1.0, "cut_pow=-1", "greater than 0"),
    "cutout_border": (0.25, "cutout_border=0", 0.0, "cutout_border=1.5", "less than or equal to 1"),
    "border_mode": ("clamp", "border_mode=mirror", "mirror", "border_mode=reflect", "'clamp', 'mirror', 'wrap', 'black' or 'smear'"),
    "gradient_accumulation_steps": (1, "gradient_accumulation_steps=4", 4, "gradient_accumulation_steps=3", "does not divide cutouts (40)"),
    "models_parent_dir": ("", "models_parent_dir=/models", "/models", None, None),
    "device": ("auto", "device=cpu", "cpu", "device=tpu", "auto, cpu, cuda, cuda:N, mps"),
    "precision": ("auto", "precision=bf16", "bf16", "precision=int8", "'auto', 'fp32', 'bf16' or 'fp16'"),
    "interpolation_mode": ("loss", "interpolation_mode=embedding", "embedding", "interpolation_mode=slerp", "'loss' or 'embedding'"),
}


def _dumped(settings) -> dict:
    return settings.model_dump(mode="json")


def test_table_covers_every_setting():
    assert set(TABLE) == set(SETTING_NAMES)


def test_every_pytti_default_key_is_a_setting():
    pytti_keys = set(yaml.safe_load(PYTTI_DEFAULTS.read_text())) - {"defaults"}
    assert pytti_keys <= set(SETTING_NAMES)


@pytest.mark.parametrize("key", sorted(TABLE))
def test_default(key, monkeypatch):
    default = TABLE[key][0]
    # the absent seed is a draw; fix the draw so the value that lands in the settings is known
    monkeypatch.setattr("dreamloom.settings.loading.secrets.randbelow", lambda bound: 1_234_567)
    dumped = _dumped(load_settings({}))
    assert dumped[key] == (1_234_567 if key == "seed" else default)


@pytest.mark.parametrize("key", sorted(TABLE))
def test_override(key):
    _, override, expected, _, _ = TABLE[key]
    assert _dumped(load_settings({}, [override]))[key] == expected


@pytest.mark.parametrize("key", sorted(key for key, row in TABLE.items() if row[3] is not None))
def test_invalid_value_names_key_value_origin_and_rule(key):
    _, _, _, invalid, fragment = TABLE[key]
    with pytest.raises(SettingsError) as caught:
        load_settings({}, [invalid])
    message = str(caught.value)
    assert key in message
    assert fragment in message
    assert "command line" in message


def test_pytti_defaults_file_loads_to_the_same_values(monkeypatch):
    class FixedClock:  # hydra's ``datetime``: ``${now:%f}`` then reads a known microsecond count
        @staticmethod
        def now():
            return datetime.datetime(2024, 1, 2, 3, 4, 5, 654_321)

    monkeypatch.setattr("hydra.core.utils.datetime", FixedClock)
    settings = load_settings(PYTTI_DEFAULTS, ["scenes=x"])
    dumped = _dumped(settings)
    for key in yaml.safe_load(PYTTI_DEFAULTS.read_text()):
        if key in ("defaults", "scenes", "seed", "models_parent_dir", "device"):
            continue
        assert dumped[key] == TABLE[key][0], key
    assert dumped["seed"] == 654_321  # ${now:%f} is the microseconds, as an integer
    assert dumped["device"] == "0"
    assert dumped["models_parent_dir"] == ""
