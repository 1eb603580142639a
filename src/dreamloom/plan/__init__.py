"""Settings → plan: every prompt and expression compiled once, the step timeline and the step variables."""

from dreamloom.plan.compiled import Plan, build_plan, expression_variables
from dreamloom.plan.timeline import SceneBlend, Timeline
from dreamloom.plan.variables import StepVariables

__all__ = ["Plan", "SceneBlend", "StepVariables", "Timeline", "build_plan", "expression_variables"]
