"""Is a multi grader's formula a plain weighted sum? (What ``to_trl(..., split=True)`` needs.)

TRL adds its reward functions as ``sum(w_i * r_i)`` and never divides, so a grader can be handed to it as
separate functions only when its ``calculate_output`` is exactly that: sub-grader scores times constant
weights, added. A normalised mean (``(a*x + b*y) / (a + b)`` with constants is fine, it is still linear),
a mask (``m * w * s``), a constant term, or a function of scores is refused, and the message says why.

Example::

    >>> plain_weights("0.7 * answer + 0.3 * fmt", ["answer", "fmt"])
    {'answer': 0.7, 'fmt': 0.3}
    >>> plain_weights("(2 * answer + fmt) / 3", ["answer", "fmt"])
    {'answer': 0.6666666666666666, 'fmt': 0.3333333333333333}
"""

from __future__ import annotations

import ast
from collections.abc import Iterable

from rftkit_nb.core.formula import parse_formula
from rftkit_nb.errors import ConfigError

__all__ = ["plain_weights"]

_Linear = tuple[dict[str, float], float]  # coefficients per variable, constant term


class _NotPlain(Exception):
    pass


def plain_weights(formula: str, keys: Iterable[str]) -> dict[str, float]:
    """The weight of each sub-grader when ``formula`` is a plain weighted sum, else a ``ConfigError``.

    Sub-graders the formula does not use are left out (TRL would otherwise call them for nothing).
    """
    parse_formula(formula)  # the formula language's own errors first
    try:
        tree = ast.parse(formula.strip(), mode="eval")
        coefficients, constant = _linear(tree.body, set(keys))
    except (SyntaxError, _NotPlain) as e:
        why = str(e) if isinstance(e, _NotPlain) else "it does not parse as a sum"
        raise ConfigError(f"split=True needs calculate_output to be a plain weighted sum, which TRL adds "
                          f"itself; {formula!r} is not ({why}): use the single reward function (split=False)") from None  # fmt: skip
    if constant != 0.0:
        raise ConfigError(f"split=True cannot express the constant term {constant:g} of {formula!r} (TRL only "
                          "adds weighted functions): use the single reward function (split=False)")  # fmt: skip
    return {k: w for k, w in coefficients.items() if w != 0.0}


def _linear(node: ast.expr, keys: set[str]) -> _Linear:
    if (
        isinstance(node, ast.Constant)
        and isinstance(node.value, int | float)
        and not isinstance(node.value, bool)
    ):
        return {}, float(node.value)
    if isinstance(node, ast.Name):
        if node.id not in keys:
            raise _NotPlain(f"{node.id!r} is not a sub-grader")
        return {node.id: 1.0}, 0.0
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub | ast.UAdd):
        sign = -1.0 if isinstance(node.op, ast.USub) else 1.0
        return _scaled(_linear(node.operand, keys), sign)
    if isinstance(node, ast.BinOp):
        left, right = _linear(node.left, keys), _linear(node.right, keys)
        if isinstance(node.op, ast.Add | ast.Sub):
            sign = 1.0 if isinstance(node.op, ast.Add) else -1.0
            merged = dict(left[0])
            for k, w in right[0].items():
                merged[k] = merged.get(k, 0.0) + sign * w
            return merged, left[1] + sign * right[1]
        if isinstance(node.op, ast.Mult):
            if left[0] and right[0]:
                raise _NotPlain("it multiplies sub-grader scores together, e.g. a mask")
            return _scaled(right, left[1]) if not left[0] else _scaled(left, right[1])
        if isinstance(node.op, ast.Div):
            if right[0]:
                raise _NotPlain("it divides by sub-grader scores, e.g. a mask-dependent normalisation")
            if right[1] == 0.0:
                raise _NotPlain("it divides by zero")
            return _scaled(left, 1.0 / right[1])
        raise _NotPlain("it uses '^'")
    if isinstance(node, ast.Call):
        name = node.func.id if isinstance(node.func, ast.Name) else "a function"
        args = [_linear(a, keys) for a in node.args]
        if any(coefficients for coefficients, _ in args):
            raise _NotPlain(f"it calls {name}() on sub-grader scores")
        # A function of constants is a constant, e.g. the Workbench's max(sum of weights, 0.000001).
        return {}, parse_formula(ast.unparse(node)).evaluate({})
    raise _NotPlain("it is not made of + - * / over scores and numbers")


def _scaled(part: _Linear, factor: float) -> _Linear:
    return {k: w * factor for k, w in part[0].items()}, part[1] * factor
