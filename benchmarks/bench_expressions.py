"""Evaluations per second of compiled expressions (``python benchmarks/bench_expressions.py``).

A step evaluates each prompt's weight, stop and cutoff once or a few times, so even tens of thousands
per second would be negligible next to a perceptor pass; this keeps an eye on the closure evaluator's
cost. The machine is shared and noisy, so each figure is the median of several timed rounds.
"""

from __future__ import annotations

import argparse
import statistics
import timeit

from dreamloom.dsl.expressions import compile_expression

VARIABLES = ("t", "fHi", "fLo", "fLo_prev")
ENV = {"t": 1.25, "fHi": 0.3, "fLo": 0.6, "fLo_prev": 0.5}
CASES = (
    ("typical weight", "10*fHi + sin(t)"),
    ("constant stop", "-inf"),
    ("conditional", "1 if t < 5 else -(fLo_prev)"),
    ("numpy call", "np.clip(fLo * 2, 0, 1)"),
    ("rotate_3d list", "[cos(t/2), 0, sin(t/2), 0]"),
)


def evaluations_per_second(source: str, number: int, repeats: int) -> float:
    """Median rate over ``repeats`` rounds of ``number`` evaluations each."""
    expression = compile_expression(source, setting="benchmark", variables=VARIABLES)
    evaluate = expression.evaluate
    rounds = timeit.repeat(lambda: evaluate(ENV), number=number, repeat=repeats)
    return number / statistics.median(rounds)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--number", type=int, default=100_000, help="evaluations per round")
    parser.add_argument("--repeats", type=int, default=7, help="timed rounds (the median is reported)")
    args = parser.parse_args()
    for name, source in CASES:
        rate = evaluations_per_second(source, args.number, args.repeats)
        print(f"{name:16s} {source:32s} {rate / 1e6:6.2f} M evaluations/s ({1e6 / rate:.2f} us each)")


if __name__ == "__main__":
    main()
