"""Pre-flight checks of a grader (and optionally a dataset) against what the service accepts.

Errors are what the service rejects or what makes every row fail; warnings are what is undocumented,
unconfirmed, or likely a mistake. The rules follow section 9 of the grader fact sheet.

Example::

    >>> from rftkit_nb.core.graders import LabelModelGrader
    >>> g = LabelModelGrader(name="lbl", model="gpt-4.1-mini-2025-04-14", input="Is {{ sample.output_text }} polite?",
    ...                      labels=["yes", "no"], passing_labels=["yes"])
    >>> [f.level for f in lint(g)]
    ['error']
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from rftkit_nb.core import html as h
from rftkit_nb.core.formula import parse_formula
from rftkit_nb.core.graders import (
    GRADER_MODELS,
    MASKED_HEADER,
    RFT_TOP_LEVEL_TYPES,
    BaseGrader,
    EndpointGrader,
    LabelModelGrader,
    MultiGrader,
    PythonGrader,
    ScoreModelGrader,
    StringCheckGrader,
    TextSimilarityGrader,
    UnknownGrader,
)
from rftkit_nb.core.lint_dataset import MAX_TRAINING_ROWS as MAX_TRAINING_ROWS
from rftkit_nb.core.lint_dataset import lint_dataset, records
from rftkit_nb.core.messages import sampling_problems
from rftkit_nb.core.names import identifier_problem
from rftkit_nb.core.pysource import free_globals, has_star_import, python_source_problems
from rftkit_nb.core.rubrics import FormattingGrader
from rftkit_nb.core.templates import find_variables, template_fields
from rftkit_nb.errors import FormulaError, TemplateError

__all__ = ["Finding", "LintReport", "has_star_import", "lint"]

Level = Literal["error", "warning", "info"]

#: Packages of the hosted python image (image_tag 2025-05-08), by import name.
HOSTED_PACKAGES = frozenset({
    "numpy", "scipy", "sympy", "pandas", "rapidfuzz", "sklearn", "rouge_score", "deepdiff",
    "jsonschema", "pydantic", "yaml", "nltk", "sqlparse", "rdkit", "skbio", "ast_grep_py",
})  # fmt: skip
NETWORK_MODULES = frozenset({"socket", "urllib", "http", "requests", "httpx", "aiohttp", "ftplib", "smtplib"})
KNOWN_IMAGE_TAGS = frozenset({"2025-05-08"})
SAMPLE_ROOTS_NEEDING_FORMAT = frozenset({"output_json"})


@dataclass(frozen=True)
class Finding:
    """One lint result: ``level`` (error / warning / info), ``where`` (a field path), ``message``."""

    level: Level
    where: str
    message: str

    def __str__(self) -> str:
        return f"{self.level:<7} {self.where}: {self.message}"


class LintReport(list[Finding]):
    """A list of findings that displays itself; ``.errors`` and ``.warnings`` filter it."""

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self if f.level == "error"]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self if f.level == "warning"]

    @property
    def ok(self) -> bool:
        return not self.errors

    def __repr__(self) -> str:
        if not self:
            return "lint: no findings"
        head = f"lint: {len(self.errors)} error(s), {len(self.warnings)} warning(s)"
        return "\n".join([head, *(str(f) for f in self)])

    def _repr_html_(self) -> str:
        if not self:
            return h.card("lint", "ok", [("findings", "none")])
        rows = "".join(
            f"<div>{h.badge(f.level, f.level)} <code>{h.esc(f.where)}</code> {h.esc(f.message)}</div>"
            for f in self
        )
        return h.card("lint", f"{len(self.errors)} errors, {len(self.warnings)} warnings", body_html=rows)


def lint(
    grader: BaseGrader,
    *,
    for_rft: bool = True,
    dataset: Iterable[Mapping[str, Any]] | None = None,
    strict_sampling: bool = False,
) -> LintReport:
    """Check a grader (and the rows it will read) before paying for a run.

    ``for_rft`` applies the rules of ``method.reinforcement.grader``; ``dataset`` (an iterable of item dicts,
    or a DataFrame) adds template-variable and dataset-row checks; ``strict_sampling`` makes the reasoning
    model / sampling-parameter rule an error instead of a warning.
    """
    out = LintReport()
    add = _adder(out)
    if for_rft and grader.type not in RFT_TOP_LEVEL_TYPES:
        if isinstance(grader, LabelModelGrader):
            add(
                "error",
                grader.name,
                "label_model is an evals grader; RFT does not take it as the top-level grader",
            )
        elif isinstance(grader, UnknownGrader):
            add("warning", grader.name, f"type {grader.type!r} is not one of OpenAI's RFT grader types")
    _lint_one(grader, grader.name, add, for_rft=for_rft, strict_sampling=strict_sampling, top=True)
    _lint_names(grader, add)
    variables = _lint_templates(grader, add)
    if dataset is not None:
        rows = records(dataset)
        lint_dataset(rows, variables, add, for_rft=for_rft)
    return out


def _adder(out: LintReport):
    def add(level: Level, where: str, message: str) -> None:
        out.append(Finding(level, where, message))

    return add


def _lint_one(
    g: BaseGrader, where: str, add: Any, *, for_rft: bool, strict_sampling: bool, top: bool
) -> None:
    if isinstance(g, MultiGrader):
        _lint_multi(g, where, add, for_rft=for_rft, strict_sampling=strict_sampling, top=top)
    elif isinstance(g, ScoreModelGrader | LabelModelGrader):
        _lint_model(g, where, add, strict_sampling=strict_sampling)
        if _reads_no_sample(g) is True:
            add(
                "warning",
                f"{where}.input",
                "the judge never sees the model's output: add {{ sample.output_text }} to a message",
            )
        if isinstance(g, ScoreModelGrader):
            lo, hi = g.score_range
            if top and for_rft and (lo < 0 or hi > 1):
                add(
                    "warning",
                    f"{where}.range",
                    f"range {[lo, hi]} leaves [0, 1]; whether RFT rescales rewards is unconfirmed",
                )
    elif isinstance(g, StringCheckGrader | TextSimilarityGrader):
        if _reads_no_sample(g) is True:
            add(
                "warning",
                where,
                "neither input nor reference reads the model's output, so every sample scores the same: "
                "put {{ sample.output_text }} in one of them",
            )
        if isinstance(g, TextSimilarityGrader) and for_rft and g.evaluation_metric == "cosine":
            add(
                "error",
                f"{where}.evaluation_metric",
                "cosine is evals-only; RFT rejects it: use fuzzy_match, bleu or rouge_*",
            )
    elif isinstance(g, PythonGrader):
        _lint_python(g, where, add)
        if isinstance(g, FormattingGrader):
            _lint_formatting(g, where, add)
    elif isinstance(g, EndpointGrader):
        _lint_endpoint(g, where, add)
        return  # pass_threshold is one of the endpoint grader's own fields
    _lint_pass_threshold(g, where, add)


def _lint_endpoint(g: EndpointGrader, where: str, add: Any) -> None:
    add("warning", where, "endpoint graders are an Azure OpenAI preview feature (OpenAI does not take them); "
        "the service POSTs every sample to the url, and discards the rollout after 3 failed tries")  # fmt: skip
    if g.headers:
        add("warning", f"{where}.headers", "header values are secrets: they are kept out of the project file, "
            "exports and output (shown as ***), so set them in code each session")  # fmt: skip
    masked = [k for k, v in (g.headers or {}).items() if v.get_secret_value() == MASKED_HEADER]
    if masked:
        which = (
            f"header{'s' if len(masked) > 1 else ''} {', '.join(masked)} hold{'' if len(masked) > 1 else 's'}"
        )
        add("error", f"{where}.headers", f"{which} the mask {MASKED_HEADER!r}, not a value "
            "(a saved or exported config never keeps them): set the real values before submitting")  # fmt: skip


def _reads_no_sample(g: BaseGrader) -> bool | None:
    """True when no template of ``g`` names a ``sample`` variable; None when one is malformed (reported apart)."""
    for _field, text in template_fields(g.config):
        try:
            variables = find_variables(text)
        except TemplateError:
            return None
        if any(v.namespace == "sample" for v in variables):
            return False
    return True


def _lint_pass_threshold(g: BaseGrader, where: str, add: Any) -> None:
    # label_model and multi have no pass_threshold field at all.
    if getattr(g, "pass_threshold", None) is not None:
        add(
            "warning",
            f"{where}.pass_threshold",
            "pass_threshold is evals-only; RFT ignores it (leave it out)",
        )


def _walk(g: BaseGrader, where: str) -> Iterator[tuple[str, BaseGrader]]:
    yield where, g
    if isinstance(g, MultiGrader):
        for key, sub in g.graders.items():
            yield from _walk(sub, f"{where}.graders.{key}")


def _lint_names(grader: BaseGrader, add: Any) -> None:
    """Every name in the tree is an identifier and unique: results and sub-rewards are matched by name."""
    first: dict[str, str] = {}
    for where, g in _walk(grader, grader.name):
        if (problem := identifier_problem(g.name)) is not None:
            add("error", f"{where}.name", f"name {g.name!r} is {problem}")
        if g.name in first:
            add(
                "error",
                f"{where}.name",
                f"name {g.name!r} is also the name of {first[g.name]}; grader names must be unique",
            )
        first.setdefault(g.name, where)


def _lint_formatting(g: FormattingGrader, where: str, add: Any) -> None:
    if not g.required_fields and g.json_schema is None and g.source == g.render_source():
        add(
            "info",
            where,
            "checks only that the output is a JSON object (any object scores 1); "
            "set required_fields or json_schema to check what is in it",
        )


def _lint_multi(
    g: MultiGrader, where: str, add: Any, *, for_rft: bool, strict_sampling: bool, top: bool
) -> None:
    if not top:
        add("error", where, "multi graders cannot be nested")
    try:
        formula = parse_formula(g.calculate_output)
    except FormulaError as e:
        add("error", f"{where}.calculate_output", str(e))
        return
    unknown = formula.variables - set(g.graders)
    unused = set(g.graders) - formula.variables
    if unknown:
        add("error", f"{where}.calculate_output", f"uses {sorted(unknown)}, which are not keys of graders")
    if unused:
        add(
            "warning",
            f"{where}.graders",
            f"{sorted(unused)} are not used by calculate_output (their cost is wasted)",
        )
    for feature in formula.undocumented:
        add("warning", f"{where}.calculate_output", f"uses {feature}, which OpenAI's docs do not list")
    for key, sub in g.graders.items():
        sub_where = f"{where}.graders.{key}"
        if isinstance(sub, LabelModelGrader) and for_rft:
            add(
                "warning",
                sub_where,
                "label_model inside multi is in the spec, but RFT support is unconfirmed",
            )
        _lint_one(sub, sub_where, add, for_rft=for_rft, strict_sampling=strict_sampling, top=False)


def _lint_model(
    g: ScoreModelGrader | LabelModelGrader, where: str, add: Any, *, strict_sampling: bool
) -> None:
    if g.model not in GRADER_MODELS:
        add(
            "warning",
            f"{where}.model",
            f"{g.model!r} is not in OpenAI's documented grader-model list (it may still work)",
        )
    level: Level = "error" if strict_sampling else "warning"
    for field, problem in sampling_problems(g.model, getattr(g, "sampling_params", None)):
        add(level, f"{where}.sampling_params.{field}", problem)


def _lint_python(g: PythonGrader, where: str, add: Any) -> None:
    for problem in python_source_problems(g.source):
        add("error", f"{where}.source", problem)
    if g.image_tag is not None and g.image_tag not in KNOWN_IMAGE_TAGS:
        add("warning", f"{where}.image_tag", f"image_tag {g.image_tag!r} is undocumented (known: 2025-05-08)")
    try:
        tree = ast.parse(g.source)
    except SyntaxError:
        return
    _lint_free_names(g.source, tree, f"{where}.source", add)
    for module in sorted(_imported_roots(tree)):
        if module in NETWORK_MODULES:
            add("warning", f"{where}.source", f"imports {module}: python graders have no network access")
        elif module not in sys.stdlib_module_names and module not in HOSTED_PACKAGES:
            add(
                "warning",
                f"{where}.source",
                f"imports {module}, which the hosted image (2025-05-08) does not list",
            )


def _lint_free_names(source: str, tree: ast.AST, where: str, add: Any) -> None:
    """Names the source reads but never defines or imports: only the source is shipped, so they fail."""
    try:
        names = free_globals(source)
    except SyntaxError as e:  # ast parses it, the compiler does not (e.g. `nonlocal` at top level)
        add("error", where, f"source does not compile: {e.msg} (line {e.lineno})")
        return
    if not names:
        return
    listed = ", ".join(names)
    if has_star_import(tree):
        # A star import may provide them; only running it could tell.
        add("warning", where, f"uses {listed}, which the source defines nowhere (unless its `import *` does)")
        return
    add(
        "error",
        where,
        f"uses {listed}, which the source neither defines nor imports (only the source is shipped): "
        "define or import them in it",
    )


def _imported_roots(tree: ast.AST) -> set[str]:
    roots: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            roots.update(a.name.split(".")[0] for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            roots.add(node.module.split(".")[0])
    return roots


def _lint_templates(grader: BaseGrader, add: Any) -> list[tuple[str, str]]:
    """Check every template; return (where, "item.path") of the item variables the grader reads."""
    item_vars: list[tuple[str, str]] = []
    for field, text in template_fields(grader.config):
        where = f"{grader.name}.{field}"
        try:
            variables = find_variables(text)
        except TemplateError as e:
            add("error", where, str(e))
            continue
        for var in variables:
            if var.namespace == "sample" and var.path and var.path[0] in SAMPLE_ROOTS_NEEDING_FORMAT:
                add("info", where, f"{{{{ {var.text} }}}} is filled only when the job sets response_format")
            if var.namespace == "item":
                item_vars.append((where, var.text))
    return item_vars
