"""Scene language: prompt grammar and safe expressions.

Entry points: :func:`parse_scenes`/:func:`format_scenes` (the ``scenes`` setting),
:func:`parse_weight_setting` and :func:`parse_direct_image_prompts` (other prompt-like settings) and
:func:`compile_expression` (every expression-valued setting).
"""

from dreamloom.dsl.expressions import Expression, compile_expression
from dreamloom.dsl.grammar import format_scenes, parse_scenes
from dreamloom.dsl.loss_strings import parse_direct_image_prompts, parse_weight_setting

__all__ = [
    "Expression",
    "compile_expression",
    "format_scenes",
    "parse_direct_image_prompts",
    "parse_scenes",
    "parse_weight_setting",
]
