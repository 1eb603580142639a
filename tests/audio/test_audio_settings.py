"""Audio settings mistakes are caught when the settings are loaded or planned, each naming what to fix."""

from __future__ import annotations

import pytest

from dreamloom.errors import PromptError, SettingsError
from dreamloom.plan import build_plan, expression_variables
from dreamloom.settings.loading import load_settings

LOW = {"variable_name": "fLo", "f_center": 105, "f_width": 65}
HIGH = {"variable_name": "fHi", "f_center": 900, "f_width": 600, "order": 5}


def plan(**values):
    return build_plan(load_settings({"ViTB32": False, "scenes": " ", "input_audio": "song.mp3", **values}))


@pytest.mark.parametrize(
    ("band", "message"),
    [
        ({"variable_name": "a", "f_center": 30, "f_width": 60}, r"runs from 0 to 60 Hz; it must lie strictly between 0 and 22050"),
        ({"variable_name": "a", "f_center": 22000, "f_width": 200}, r"runs from 21900 to 22100 Hz"),
        ({"variable_name": "a", "f_center": 100, "f_width": 50, "attack": -1}, r"attack"),
    ],
)
def test_a_band_outside_0_to_nyquist_is_refused_at_load_time(band, message):
    with pytest.raises(SettingsError, match=message):
        plan(input_audio_filters=[band])


@pytest.mark.parametrize(
    ("bands", "clash"),
    [
        ([LOW, dict(LOW, f_center=200)], "'fLo'"),
        ([LOW, dict(HIGH, variable_name="fLo_prev")], "'fLo_prev'"),
        ([dict(LOW, variable_name="beat")], "'beat'"),
    ],
)
def test_variable_names_that_would_mean_two_things_are_refused(bands, clash):
    with pytest.raises(SettingsError, match=f"input_audio_filters: the variable name {clash}"):
        plan(input_audio_filters=bands)


def test_filters_without_a_sound_are_refused():
    with pytest.raises(SettingsError, match="input_audio_filters: the filters measure the bands of input_audio, which is empty"):
        plan(input_audio="", input_audio_filters=[LOW])


def test_a_variable_without_a_filter_is_an_error_naming_it():
    with pytest.raises(PromptError, match="fMid"):
        plan(scenes="a red apple:10*fMid", perceptors=["demo"], input_audio_filters=[LOW, HIGH])


def test_every_band_brings_its_level_prev_and_onset_and_the_filters_bring_beat():
    settings = load_settings({"input_audio": "song.mp3", "input_audio_filters": [LOW, HIGH]})
    assert expression_variables(settings) == {"t", "fLo", "fLo_prev", "fLo_onset", "fHi", "fHi_prev", "fHi_onset", "beat"}
    assert expression_variables(load_settings({})) == {"t"}
    compiled = plan(scenes="a:(fLo_onset + beat + fHi_prev)", perceptors=["demo"], input_audio_filters=[LOW, HIGH])
    assert compiled.scenes
