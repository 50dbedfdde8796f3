"""Static checks and source extraction for python graders. Nothing here executes user code.

The service runs ``grade(sample, item) -> float`` from a ``source`` string under 256 kB. These helpers
check that contract with :mod:`ast` only, and turn a function or module into the source to ship.

Example::

    >>> python_source_problems("def grade(sample, item):\\n    return 1.0\\n")
    []
    >>> python_source_problems("def grade(sample):\\n    return 1.0\\n")
    ['grade() must take exactly two positional parameters (sample, item); it takes 1']
"""

from __future__ import annotations

import ast
import builtins
import inspect
import symtable
import textwrap
import types
from collections.abc import Callable

MAX_SOURCE_BYTES = 256 * 1024
# Names every module has without defining them.
_MODULE_NAMES = frozenset({"__name__", "__doc__", "__builtins__"})


def python_source_problems(source: str) -> list[str]:
    """Problems that would make the service reject or fail this grader source, as one-line strings."""
    problems: list[str] = []
    size = len(source.encode("utf-8"))
    if size >= MAX_SOURCE_BYTES:
        problems.append(
            f"source is {size:,} bytes; the service takes less than {MAX_SOURCE_BYTES:,} (256 kB)"
        )
    try:
        tree = ast.parse(source)
    except SyntaxError as e:
        return [*problems, f"source does not compile: {e.msg} (line {e.lineno})"]
    grade = _top_level_grade(tree)
    if grade is None:
        problems.append("source defines no top-level function grade(sample, item)")
    elif isinstance(grade, ast.FunctionDef | ast.AsyncFunctionDef):
        problems.extend(_signature_problems(grade))
    return problems


def _top_level_grade(tree: ast.Module) -> ast.AST | None:
    found: ast.AST | None = None
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name == "grade":
            found = node
        elif isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "grade" for t in node.targets
        ):
            found = node  # `grade = other_function`: trusted, checked when it runs
        elif isinstance(node, ast.ImportFrom) and any((a.asname or a.name) == "grade" for a in node.names):
            found = node
    return found


def _signature_problems(fn: ast.FunctionDef | ast.AsyncFunctionDef) -> list[str]:
    if isinstance(fn, ast.AsyncFunctionDef):
        return ["grade() must be a plain function, not async"]
    args = fn.args
    positional = len(args.posonlyargs) + len(args.args)
    required_kwonly = [a for a, d in zip(args.kwonlyargs, args.kw_defaults, strict=True) if d is None]
    if args.vararg is not None:
        return []
    if positional - len(args.defaults) > 2 or positional < 2 or required_kwonly:
        return [f"grade() must take exactly two positional parameters (sample, item); it takes {positional}"]
    return []


def source_of(obj: str | Callable[..., object] | types.ModuleType) -> str:
    """The source text to ship for a python grader given as text, a function, or a module.

    A function not named ``grade`` gets a ``grade = <name>`` alias; modules it uses through a global
    name (``np`` for ``import numpy as np``) and names it imports from modules (``from math import floor``)
    are imported at the top, since only this text is shipped. Any other global it uses (a constant, a helper
    defined next to it) is not shipped, so that is a ``ValueError`` naming them.
    """
    if isinstance(obj, str):
        return obj
    if isinstance(obj, types.ModuleType):
        try:
            return inspect.getsource(obj)
        except (OSError, TypeError) as e:
            raise ValueError(f"cannot read the source of module {obj.__name__} ({e})") from None
    if callable(obj) and hasattr(obj, "__code__"):
        if obj.__name__ == "<lambda>":  # getsource would return the whole line around it
            raise ValueError("a lambda cannot be shipped as grader source; define it with def")
        try:
            body = textwrap.dedent(inspect.getsource(obj))
        except (OSError, TypeError) as e:
            raise ValueError(
                f"cannot read the source of {obj.__name__}() ({e}); pass the source text instead"
            ) from None
        imports = _module_imports(obj, body)
        alias = "" if obj.__name__ == "grade" else f"\n\ngrade = {obj.__name__}\n"
        return (imports + "\n\n" if imports else "") + body.rstrip("\n") + "\n" + alias
    raise TypeError(f"source must be text, a function or a module, not {type(obj).__name__}")


def free_globals(source: str) -> list[str]:
    """Global names ``source`` reads but neither defines, imports nor gets from builtins, sorted.

    Example::

        >>> free_globals("import math\\nLIMIT = 2\\ndef grade(s, i):\\n    return helper(math.pi, LIMIT, len(s))")
        ['helper']
    """
    top = symtable.symtable(source, "<grader>", "exec")
    defined = {s.get_name() for s in top.get_symbols() if s.is_assigned() or s.is_imported()}
    used: set[str] = set()
    tables = [top]
    while tables:
        table = tables.pop()
        tables.extend(table.get_children())
        for sym in table.get_symbols():
            if sym.is_declared_global() and sym.is_assigned():
                defined.add(sym.get_name())  # `global X; X = ...` inside a function defines X
            elif sym.is_global() and sym.is_referenced():
                used.add(sym.get_name())
    return sorted(used - defined - set(dir(builtins)) - _MODULE_NAMES)


def _module_imports(fn: Callable[..., object], body: str) -> str:
    """Import lines for the globals ``body`` uses; a ValueError names those that cannot be imported."""
    lines: list[str] = []
    outside: list[str] = []
    namespace = getattr(fn, "__globals__", {})
    try:
        names = free_globals(body)
    except SyntaxError:  # PythonGrader's own compile check reports it
        return ""
    for name in names:
        value = namespace.get(name)
        if isinstance(value, types.ModuleType):
            module = value.__name__
            lines.append(f"import {module}" if module == name else f"import {module} as {name}")
        elif (origin := _importable_from(value, fn)) is not None:
            real = getattr(value, "__name__", name)
            lines.append(f"from {origin} import {real}" + ("" if real == name else f" as {name}"))
        else:
            outside.append(name)
    if outside:
        listed = " and ".join([", ".join(outside[:-1]), outside[-1]] if len(outside) > 1 else outside)
        which, them = ("is", "it") if len(outside) == 1 else ("are", "them")
        raise ValueError(
            f"{fn.__name__}() uses {listed}, which {which} defined outside it; "
            f"pass a module or source text that includes {them}"
        )
    return "\n".join(lines)


def _importable_from(value: object, fn: Callable[..., object]) -> str | None:
    """The module a global such as ``floor`` (``from math import floor``) can be re-imported from.

    Names defined next to ``fn`` itself (its own module, ``__main__``, a notebook) cannot be imported
    by the service, so they are left for the user to inline.
    """
    module = getattr(value, "__module__", None)
    name = getattr(value, "__name__", None)
    if not (isinstance(value, type) or callable(value)) or not module or not name:
        return None
    if module in ("__main__", "builtins", getattr(fn, "__module__", None)):
        return None
    if getattr(value, "__qualname__", name) != name or module.startswith("_"):
        return None
    return module


def has_star_import(tree: ast.AST) -> bool:
    """Whether a ``from m import *`` appears anywhere (inside an ``if`` or ``try`` too): what it binds is
    unknown until it runs.

    Example::

        >>> has_star_import(ast.parse("try:\\n    from math import *\\nexcept ImportError:\\n    pass"))
        True
    """
    return any(isinstance(n, ast.ImportFrom) and n.names[0].name == "*" for n in ast.walk(tree))
