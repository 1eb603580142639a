"""Settings → plan: every prompt and expression compiled once, the step timeline and the step variables."""

from dreamloom.plan.compiled import Plan, build_plan, expression_variables
from dreamloom.plan.timeline import SceneBlend, Timeline
from dreamloom.plan.variables import BEAT, StepVariables, audio_variable_names

__all__ = ["BEAT", "Plan", "SceneBlend", "StepVariables", "Timeline", "audio_variable_names", "build_plan", "expression_variables"]
