"""The multi grader's ``calculate_output`` formula language: parse, check and evaluate it.

The language (OpenAI fact sheet, section 5): numbers, variables (the multi grader's ``graders`` keys),
``+ - * /``, ``^`` as power (right-associative, binds tighter than ``* /``), parentheses, and the functions
``min max abs floor ceil exp sqrt log``. Unary minus parses, but it is undocumented, so a parsed
``Formula`` lists it in ``undocumented`` for the linter to warn about.

A hand-written recursive-descent parser turns the text into a tree of small closures once; evaluating a
row is then a handful of plain function calls. Nothing here ever calls ``eval``.

Example::

    >>> f = parse_formula("0.5 * a + 0.5 * b")
    >>> sorted(f.variables), f.evaluate({"a": 1.0, "b": 0.5})
    (['a', 'b'], 0.75)
"""

from __future__ import annotations

import functools
import math
import numbers
import operator
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import NamedTuple

from rftkit_nb.errors import FormulaError, FormulaEvaluationError

__all__ = ["FUNCTIONS", "Formula", "check_formula", "evaluate_formula", "parse_formula"]

_UNARY_FUNCTIONS: dict[str, Callable[[float], float]] = {
    "abs": abs,
    "floor": lambda x: float(math.floor(x)),
    "ceil": lambda x: float(math.ceil(x)),
    "exp": math.exp,
    "sqrt": math.sqrt,
    "log": math.log,
}
FUNCTIONS: frozenset[str] = frozenset({"min", "max", *_UNARY_FUNCTIONS})
# Functions that can fail: (is x in the domain, what to say when it is not).
_DOMAINS: dict[str, tuple[Callable[[float], bool], str]] = {
    "log": (lambda x: x > 0, "log of a number <= 0"),
    "sqrt": (lambda x: x >= 0, "sqrt of a negative number"),
    "exp": (lambda x: True, "exp"),
}
_ARITHMETIC = {"+": operator.add, "-": operator.sub, "*": operator.mul}
_SHOWN_FUNCTIONS = ", ".join(sorted(FUNCTIONS))

_Fn = Callable[[Mapping[str, float]], float]
# A partial value: a number when the known scores fix it, else the set of unknown variables it depends on.
_Partial = float | frozenset[str]
_DepFn = Callable[[Mapping[str, float]], _Partial]
_NONE: frozenset[str] = frozenset()


class _Problem(Exception):
    """Raised inside the compiled closures; ``Formula.evaluate`` adds the formula text to it."""


# ---------------------------------------------------------------------------------------------- tokens


class _Token(NamedTuple):
    kind: str  # "num", "name", "op" or "end"
    text: str
    pos: int


_NUMBER = re.compile(r"(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_SPACE = re.compile(r"\s+")
_NUMBER_TAIL = re.compile(r"[A-Za-z0-9_.]+")  # what glues onto a number to make it malformed
_OPERATORS = frozenset("+-*/^(),")
_COMPARISONS = ("==", "!=", "<=", ">=", "<", ">", "=", "!")


def _tokenize(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    pos = 0
    while pos < len(text):
        if m := _SPACE.match(text, pos):
            pos = m.end()
        elif m := _NUMBER.match(text, pos):
            if tail := _NUMBER_TAIL.match(text, m.end()):
                raise FormulaError(f"malformed number {text[pos : tail.end()]!r}", formula=text, position=pos)
            tokens.append(_Token("num", m.group(), pos))
            pos = m.end()
        elif m := _NAME.match(text, pos):
            tokens.append(_Token("name", m.group(), pos))
            pos = m.end()
        elif text.startswith("**", pos):
            problem = "'**' is not supported; use '^' for powers, e.g. a ^ 2"
            raise FormulaError(problem, formula=text, position=pos)
        elif text[pos] in _OPERATORS:
            tokens.append(_Token("op", text[pos], pos))
            pos += 1
        else:
            raise FormulaError(_bad_character(text, pos), formula=text, position=pos)
    tokens.append(_Token("end", "", len(text)))
    return tokens


def _bad_character(text: str, pos: int) -> str:
    for op in _COMPARISONS:
        if text.startswith(op, pos):
            return f"comparisons and conditionals ({op!r}) are not supported in calculate_output"
    return f"unexpected character {text[pos]!r}; allowed are numbers, names, + - * / ^, ( ) and ','"


# ------------------------------------------------------------------------------------- compiled nodes


class _Expr(NamedTuple):
    fn: _Fn
    deps: _DepFn  # what the value depends on, given some known scores (see Formula.depends_on)
    start: int  # span in the formula text, used to name the culprit in evaluation errors
    end: int
    depth: int = 1  # closure nesting; bounded so that evaluating never hits the recursion limit


# Real formulas are a few levels deep; the bound keeps evaluation far below Python's recursion limit.
_MAX_DEPTH = 200


def _finite(value: float, what: str) -> float:
    if not math.isfinite(value):
        raise _Problem(f"overflow: {what} is too large to represent")
    return value


def _power(left: _Expr, right: _Expr, text: str) -> _Fn:
    lf, rf = left.fn, right.fn
    shown = repr(text[left.start : right.end])

    def power(s: Mapping[str, float]) -> float:
        base, exponent = lf(s), rf(s)
        try:
            return math.pow(base, exponent)
        except OverflowError:
            raise _Problem(f"overflow: {shown} is too large to represent") from None
        except ValueError:
            if base == 0:
                raise _Problem(f"0 raised to a negative power in {shown}") from None
            raise _Problem(f"a negative number raised to a fractional power in {shown}") from None

    return power


def _chain(first: _Expr, rest: list[tuple[str, _Expr]], text: str) -> _Fn:
    """``first op1 e1 op2 e2 ...`` for a run of same-precedence ``+ -`` or ``* /``, left to right."""
    head = first.fn
    steps = [(op, e.fn, repr(text[e.start : e.end])) for op, e in rest]
    shown = repr(text[first.start : rest[-1][1].end])
    if len(steps) == 1 and steps[0][0] in _ARITHMETIC:  # the common a + b: one closure, no loop
        combine, right = _ARITHMETIC[steps[0][0]], steps[0][1]
        return lambda s: _finite(combine(head(s), right(s)), shown)

    def chain(s: Mapping[str, float]) -> float:
        acc = head(s)
        for op, fn, src in steps:
            x = fn(s)
            if op == "+":
                acc += x
            elif op == "-":
                acc -= x
            elif op == "*":
                acc *= x
            elif x == 0:
                raise _Problem(f"division by zero: {src} is 0")
            else:
                acc /= x
            if not math.isfinite(acc):
                raise _Problem(f"overflow: {shown} is too large to represent")
        return acc

    return chain


def _call(name: str, args: list[_Expr], text: str) -> _Fn:
    fns = [a.fn for a in args]
    if name in ("min", "max"):
        pick = min if name == "min" else max
        if len(fns) == 2:
            a, b = fns
            return lambda s: pick(a(s), b(s))
        return lambda s: pick([f(s) for f in fns])
    (arg,) = fns
    fn = _UNARY_FUNCTIONS[name]
    if name not in _DOMAINS:
        return lambda s: fn(arg(s))
    in_domain, problem = _DOMAINS[name]
    shown = text[args[0].start : args[0].end]

    def checked(s: Mapping[str, float]) -> float:
        x = arg(s)
        if not in_domain(x):
            raise _Problem(f"{problem}: {shown!r} is {x!r}")
        try:
            return fn(x)
        except OverflowError:
            raise _Problem(f"overflow: {name}({shown}) is too large to represent") from None

    return checked


def _variable(name: str) -> _Fn:
    def lookup(scores: Mapping[str, float]) -> float:
        try:
            value = scores[name]
        except KeyError:
            raise _Problem(f"the score {name!r} is missing (scores given: {_keys(scores)})") from None
        if type(value) is not float:  # the common case stays one type check
            if not isinstance(value, numbers.Real):
                raise _Problem(f"the score {name!r} is {value!r}, not a number")
            value = float(value)
        if not math.isfinite(value):
            raise _Problem(f"the score {name!r} is {value!r}, not a finite number")
        return value

    return lookup


def _keys(scores: Mapping[str, float], limit: int = 8) -> str:
    keys = [str(k) for k in scores]
    shown = ", ".join(keys[:limit])
    more = f", ... ({len(keys) - limit} more)" if len(keys) > limit else ""
    return (shown + more) or "none"


# ------------------------------------------------------------------------- dependency (partial) evaluation
# Each compiled node also gets a `deps` closure: evaluated with only SOME scores known, it returns the
# number when the known scores fix it, else the unknown variables the value can still depend on. The one
# shortcut is exact: a product with a known factor of exactly 0 is 0 whatever the other factor is. So a
# judge masked by an indicator of 0 drops out, and nothing that could move the reward is ever dropped.


def _unknowns(*parts: _Partial) -> frozenset[str]:
    out = _NONE
    for part in parts:
        if isinstance(part, frozenset):
            out = out | part
    return out


def _settled(fn: Callable[[], float], *parts: _Partial) -> _Partial:
    """The number when every part is known and the arithmetic succeeds; else what it depends on."""
    if any(isinstance(p, frozenset) for p in parts):
        return _unknowns(*parts)
    try:
        value = fn()
    except (_Problem, ArithmeticError, ValueError):
        return _NONE  # fails whatever the unknowns are: no unknown can change that
    return value if math.isfinite(value) else _NONE


def _chain_deps(first: _Expr, rest: list[tuple[str, _Expr]]) -> _DepFn:
    steps = [(op, e.deps) for op, e in rest]
    head = first.deps

    def deps(known: Mapping[str, float]) -> _Partial:
        acc = head(known)
        for op, part in steps:
            x = part(known)
            if (
                op == "*"
                and (acc == 0.0 or x == 0.0)
                and not (isinstance(acc, frozenset) and isinstance(x, frozenset))
            ):
                acc = 0.0  # exactly zero, whatever the unknown factor is
            elif op == "/" and acc == 0.0 and isinstance(x, frozenset):
                acc = x  # 0 / x is 0 unless x is 0, which depends on x
            else:
                a, b = acc, x
                acc = _settled(lambda a=a, b=b, op=op: _apply(op, a, b), a, b)  # type: ignore[misc]
        return acc

    return deps


def _apply(op: str, a: float, b: float) -> float:
    if op == "/":
        if b == 0:
            raise _Problem("division by zero")
        return a / b
    return _ARITHMETIC[op](a, b)


def _power_deps(left: _Expr, right: _Expr) -> _DepFn:
    def deps(known: Mapping[str, float]) -> _Partial:
        base, exponent = left.deps(known), right.deps(known)
        if isinstance(base, frozenset) or isinstance(exponent, frozenset):
            return _unknowns(base, exponent)
        return _settled(lambda: math.pow(base, exponent))

    return deps


def _call_deps(name: str, args: list[_Expr]) -> _DepFn:
    parts = [a.deps for a in args]
    if name in ("min", "max"):
        pick = min if name == "min" else max

        def extreme(known: Mapping[str, float]) -> _Partial:
            xs = [p(known) for p in parts]
            numbers = [x for x in xs if not isinstance(x, frozenset)]
            if len(numbers) < len(xs):
                return _unknowns(*xs)
            return _settled(lambda: pick(numbers))

        return extreme
    fn, (part,) = _UNARY_FUNCTIONS[name], parts
    domain = _DOMAINS.get(name, (lambda x: True, ""))[0]

    def deps(known: Mapping[str, float]) -> _Partial:
        x = part(known)
        if isinstance(x, frozenset):
            return x
        return _settled(lambda: fn(x) if domain(x) else math.nan, x)

    return deps


def _variable_deps(name: str) -> _DepFn:
    unknown = frozenset({name})
    return lambda known: float(known[name]) if name in known else unknown


# --------------------------------------------------------------------------------------------- parser


class _Parser:
    """Recursive descent; one method per precedence level, lowest first."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = _tokenize(text)
        self.i = 0
        self.variables: set[str] = set()
        self.undocumented: list[str] = []

    def error(self, problem: str, token: _Token) -> FormulaError:
        return FormulaError(problem, formula=self.text, position=token.pos)

    @property
    def tok(self) -> _Token:
        return self.tokens[self.i]

    def prev_end(self) -> int:
        prev = self.tokens[self.i - 1]
        return prev.pos + len(prev.text)

    def note(self, feature: str) -> None:
        if feature not in self.undocumented:
            self.undocumented.append(feature)

    def parse(self) -> _Expr:
        if self.tok.kind == "end":
            raise self.error("the formula is empty; write e.g. (a + b) / 2", self.tok)
        expr = self.additive()
        if self.tok.kind != "end":
            raise self.error(self.unexpected("an operator or the end of the formula"), self.tok)
        return expr

    def unexpected(self, expected: str) -> str:
        if self.tok.kind == "end":
            return f"unexpected end of formula; expected {expected}"
        if self.tok.text == ")":
            return "unexpected ')'"
        return f"unexpected {self.tok.text!r}; expected {expected}"

    def binary_level(self, ops: str, operand: Callable[[], _Expr]) -> _Expr:
        first = operand()
        rest: list[tuple[str, _Expr]] = []
        while self.tok.kind == "op" and self.tok.text in ops:
            op = self.tok.text
            self.i += 1
            rest.append((op, operand()))
        if not rest:
            return first
        # A long sum (one term per rubric) stays one flat loop instead of a deep chain of closures.
        return self.combine(
            _chain(first, rest, self.text), _chain_deps(first, rest), first, *(e for _, e in rest)
        )

    def combine(self, fn: _Fn, deps: _DepFn, first: _Expr, *rest: _Expr) -> _Expr:
        depth = max(e.depth for e in (first, *rest)) + 1
        last = (rest or (first,))[-1]
        if depth > _MAX_DEPTH:
            problem = f"the formula nests deeper than {_MAX_DEPTH} levels"
            raise FormulaError(problem, formula=self.text, position=last.start)
        return _Expr(fn, deps, first.start, last.end, depth)

    def additive(self) -> _Expr:
        return self.binary_level("+-", self.term)

    def term(self) -> _Expr:
        return self.binary_level("*/", self.unary)

    def unary(self) -> _Expr:
        tok = self.tok
        if tok.kind == "op" and tok.text in "+-":
            self.i += 1
            self.note("unary minus" if tok.text == "-" else "unary plus")
            operand = self.unary()
            fn = operand.fn
            if tok.text == "+":
                return operand._replace(start=tok.pos)
            part = operand.deps
            negated = self.combine(lambda s: -fn(s), lambda k: _settled(lambda: -part(k), part(k)), operand)  # type: ignore[operator]
            return negated._replace(start=tok.pos)
        return self.power()

    def power(self) -> _Expr:
        base = self.primary()
        if self.tok.kind == "op" and self.tok.text == "^":
            self.i += 1
            exponent = self.unary()  # right-associative, and 2 ^ -1 reads naturally
            return self.combine(
                _power(base, exponent, self.text), _power_deps(base, exponent), base, exponent
            )
        return base

    def primary(self) -> _Expr:
        tok = self.tok
        if tok.kind == "num":
            self.i += 1
            value = float(tok.text)
            if not math.isfinite(value):
                raise self.error(f"the number {tok.text!r} is too large", tok)
            return _Expr(lambda s: value, lambda k: value, tok.pos, self.prev_end())
        if tok.kind == "name":
            self.i += 1
            if self.tok.kind == "op" and self.tok.text == "(":
                return self.call(tok)
            if tok.text in FUNCTIONS:
                raise self.error(f"{tok.text!r} is a function; call it like {tok.text}(x)", tok)
            self.variables.add(tok.text)
            return _Expr(_variable(tok.text), _variable_deps(tok.text), tok.pos, self.prev_end())
        if tok.kind == "op" and tok.text == "(":
            self.i += 1
            inner = self.additive()
            self.expect_close(tok)
            return inner._replace(start=tok.pos, end=self.prev_end())
        raise self.error(self.unexpected("a number, a variable, a function call or '('"), tok)

    def expect_close(self, opener: _Token) -> None:
        if self.tok.kind == "op" and self.tok.text == ")":
            self.i += 1
            return
        if self.tok.kind == "end":
            raise self.error(f"missing ')' to close the '(' at position {opener.pos}", self.tok)
        raise self.error(self.unexpected("an operator or ')'"), self.tok)

    def call(self, name: _Token) -> _Expr:
        if name.text not in FUNCTIONS:
            hint = f" (did you mean {name.text.lower()!r}?)" if name.text.lower() in FUNCTIONS else ""
            problem = f"unknown function {name.text!r}{hint}; the functions are {_SHOWN_FUNCTIONS}"
            raise self.error(problem, name)
        opener = self.tok
        self.i += 1
        args = [self.additive()]
        while self.tok.kind == "op" and self.tok.text == ",":
            self.i += 1
            args.append(self.additive())
        self.expect_close(opener)
        if name.text in ("min", "max") and len(args) < 2:
            raise self.error(f"{name.text}() takes 2 or more arguments, got {len(args)}", name)
        if name.text not in ("min", "max") and len(args) != 1:
            raise self.error(f"{name.text}() takes exactly 1 argument, got {len(args)}", name)
        node = self.combine(_call(name.text, args, self.text), _call_deps(name.text, args), *args)
        return node._replace(start=name.pos, end=self.prev_end())


# ---------------------------------------------------------------------------------------- public API


@dataclass(frozen=True, slots=True)
class Formula:
    """A parsed ``calculate_output`` formula; build one with :func:`parse_formula`.

    Example::

        >>> parse_formula("min(a, b) ^ 2").evaluate({"a": 0.5, "b": 0.9})
        0.25
    """

    text: str
    variables: frozenset[str]
    undocumented: tuple[str, ...]
    _fn: _Fn = field(repr=False, compare=False)
    _deps: _DepFn = field(repr=False, compare=False)

    def depends_on(self, known: Mapping[str, float]) -> frozenset[str]:
        """The variables not in ``known`` whose value can still change the result.

        Exact, never optimistic: the only shortcut is that a product with a known factor of exactly 0 is
        0. The scoring engine uses it to skip a judge whose rubric is masked for a row.

        Example::

            >>> f = parse_formula("(m * w + 1 * fmt) / 2")
            >>> sorted(f.depends_on({"m": 0.0})), sorted(f.depends_on({"m": 1.0}))
            (['fmt'], ['fmt', 'w'])
        """
        result = self._deps(known)
        return result if isinstance(result, frozenset) else _NONE

    def evaluate(self, scores: Mapping[str, float]) -> float:
        """The formula's value with each variable bound to ``scores[name]``.

        Raises ``FormulaEvaluationError`` for a missing or non-numeric score, division by zero, log of
        x <= 0, sqrt of a negative number, overflow, or a non-finite result.

        Example::

            >>> parse_formula("(name + email) / 2").evaluate({"name": 1, "email": 0})
            0.5
        """
        try:
            result = self._fn(scores)
        except _Problem as problem:
            raise FormulaEvaluationError(f"formula {self.text!r} could not be evaluated: {problem}") from None
        if not math.isfinite(result):  # defensive: each step already checks
            raise FormulaEvaluationError(f"formula {self.text!r} gave a non-finite result ({result!r})")
        return result


def parse_formula(text: str) -> Formula:
    """Parse a ``calculate_output`` formula; raises ``FormulaError`` naming the position and problem.

    Example::

        >>> parse_formula("-a + b").undocumented
        ('unary minus',)
    """
    if not isinstance(text, str):
        raise FormulaError(f"calculate_output must be a string, got {type(text).__name__}")
    parser = _Parser(text)
    try:
        expr = parser.parse()
    except RecursionError:
        where = parser.tok.pos
        raise FormulaError("the formula nests too deeply", formula=text, position=where) from None
    return Formula(text, frozenset(parser.variables), tuple(parser.undocumented), expr.fn, expr.deps)


_cached_parse = functools.lru_cache(maxsize=512)(parse_formula)


def check_formula(text: str, keys: Iterable[str]) -> tuple[set[str], set[str]]:
    """``(unknown, unused)``: variables used but not in ``keys``, and ``keys`` the formula never uses.

    Raises ``FormulaError`` if the formula does not parse.

    Example::

        >>> check_formula("(a + c) / 2", ["a", "b"])
        ({'c'}, {'b'})
    """
    formula = _cached_parse(text)
    given = set(keys)
    return set(formula.variables - given), given - formula.variables


def evaluate_formula(text: str, scores: Mapping[str, float]) -> float:
    """Parse (cached) and evaluate ``text`` on ``scores``.

    Example::

        >>> evaluate_formula("2 ^ 3 ^ 2", {})
        512.0
    """
    return _cached_parse(text).evaluate(scores)
