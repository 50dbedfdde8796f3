"""The workbench's project file: its format, validation, and an atomic writer.

The file is indented JSON with a fixed key order and a trailing newline, so it diffs well under git::

    {"format": "rftkit_nb-project", "version": 1, "name": "reward", "normalize": true,
     "formatting": {...} | null, "rubrics": [...], "graders": [{"weight": 1.0, "config": {...}}],
     "clusters": {"clusters": {...}, "rubrics": [...], "field": "cluster"}}

Reading validates everything before anything is used; any problem is a one-line
:class:`ProjectFileError` and the file is never touched. Writing goes through a temp file in the same
directory, fsync and ``os.replace``, so a crash leaves either the old file or the new one.

Example::

    >>> state = parse_state(state_to_dict(ProjectState("reward", True, None, {}, {}, ClusterMap())), "memory")
    >>> state.name, state.rubrics
    ('reward', {})
"""

from __future__ import annotations

import ast
import contextlib
import hashlib
import json
import keyword
import math
import os
import tempfile
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, NamedTuple

from pydantic import ValidationError

from rftkit_nb.core.clusters import ClusterMap
from rftkit_nb.core.formula import FUNCTIONS
from rftkit_nb.core.graders import BaseGrader, PythonGrader, UnknownGrader, grader_from_config, is_identifier
from rftkit_nb.core.lint import has_star_import
from rftkit_nb.core.pysource import free_globals, python_source_problems
from rftkit_nb.core.rubrics import (
    DEFAULT_JUDGE_MODEL,
    FormattingGrader,
    IndicatorGrader,
    RubricGrader,
    default_judge_messages,
    literal_rubric_text,
)
from rftkit_nb.core.templates import find_variables
from rftkit_nb.errors import ConfigError, ProjectFileError

__all__ = [
    "PROJECT_FORMAT",
    "PROJECT_VERSION",
    "FileStamp",
    "ProjectState",
    "RubricSpec",
    "atomic_write",
    "check_identifier",
    "check_python",
    "cluster_map",
    "disk_stamp",
    "dumps",
    "file_kind",
    "finite_weight",
    "item_fields_of",
    "parse_state",
    "read_project",
    "rubric_spec",
    "state_to_dict",
]

PROJECT_FORMAT = "rftkit_nb-project"
PROJECT_VERSION = 1
# A grader config is small (each python source < 256 kB); a bigger file is some other data, not parsed.
_MAX_SNIFF_BYTES = 16 * 1024 * 1024


@dataclass(frozen=True)
class RubricSpec:
    """One rubric as the user wrote it. ``input``, when set, is the judge's user-message template.

    Example::

        >>> RubricSpec("tone", "1 = polite").grader().type
        'score_model'
    """

    name: str
    text: str
    weight: float = 1.0
    model: str = DEFAULT_JUDGE_MODEL
    range: tuple[float, float] = (0.0, 1.0)
    input: str | None = None
    item_fields: tuple[str, ...] = ()

    def grader(self, *, strict: bool = False) -> RubricGrader:
        """The rubric's score_model judge.

        Text the strict check refuses (``{{`` in it: kept from an older project file) is shown to the judge
        with each ``{{`` written ``{ {``, and the workbench's lint reports it; ``strict=True`` refuses it.
        """
        text = self.text if strict else literal_rubric_text(self.text)
        extra: dict[str, Any] = {}
        if self.input is not None:
            # The rubric stays the judge's instructions; the template replaces only what it is shown, so
            # the instructions name the row fields the template shows, not the default prompt's.
            shown = item_fields_of(self.input)
            system = default_judge_messages(self.name, text, self.range, shown)[0]
            extra["input"] = [system, {"role": "user", "content": self.input}]
        return RubricGrader(
            name=self.name, rubric=text, weight=self.weight, model=self.model,  # type: ignore[arg-type]
            range=self.range, item_fields=self.item_fields, **extra,
        )  # fmt: skip


def item_fields_of(template: str) -> list[str]:
    """The dataset-row fields a template reads (its ``{{ item.* }}`` variables), each once, in order.

    Example::

        >>> item_fields_of("Q: {{ item.question }} ({{ item.meta.kind }}) A: {{ sample.output_text }}")
        ['question', 'meta.kind']
    """
    paths = (v.text.removeprefix("item.") for v in find_variables(template) if v.namespace == "item")
    return list(dict.fromkeys(paths))


def finite_weight(weight: object, owner: str) -> float:
    """``weight`` as a float, or a ConfigError naming ``owner`` (NaN, inf, negatives and bools refused)."""
    if isinstance(weight, bool) or not isinstance(weight, int | float) or not math.isfinite(weight):
        raise ConfigError(f"{owner}: weight must be a finite number >= 0, got {weight!r}")
    if weight < 0:
        raise ConfigError(f"{owner}: weight must be >= 0, got {weight!r}")
    return float(weight)


def rubric_spec(
    name: str, text: object, weight: object = 1.0, model: object = DEFAULT_JUDGE_MODEL,
    range: object = (0.0, 1.0), input: object = None, item_fields: object = (), *, strict: bool = True,
) -> RubricSpec:  # fmt: skip
    """A validated :class:`RubricSpec` (its judge builds), or a ConfigError naming the field.

    ``strict=False`` (reading a project file) keeps text with ``{{`` in it, which older versions took.

    Example::

        >>> rubric_spec("tone", "cite {{ item.source", strict=False).grader().rubric.content
        'cite { { item.source'
    """
    owner = f"rubric {name!r}"
    if not isinstance(text, str) or not text.strip():
        raise ConfigError(f"{owner}: the text is empty; write the rubric (the %%rubric cell body)")
    lo_hi = list(range) if isinstance(range, list | tuple) else []
    if len(lo_hi) != 2 or not all(isinstance(x, int | float) and math.isfinite(x) for x in lo_hi):
        raise ConfigError(f"{owner}: range must be two finite numbers [low, high], got {range!r}")
    if input is not None and not isinstance(input, str):
        raise ConfigError(f"{owner}: input must be a template string, got {input!r}")
    try:
        find_variables(input or "")
    except ConfigError as e:
        raise ConfigError(f"{owner}: input template: {e}") from None
    if isinstance(item_fields, str) or not isinstance(item_fields, list | tuple):
        raise ConfigError(f"{owner}: item_fields must be a list of field names, got {item_fields!r}")
    if not isinstance(model, str) or not model:
        raise ConfigError(f"{owner}: model must be a model name, got {model!r}")
    spec = RubricSpec(
        name, text.strip(), finite_weight(weight, owner), model,
        (float(lo_hi[0]), float(lo_hi[1])), input, tuple(map(str, item_fields)),
    )  # fmt: skip
    spec.grader(strict=strict)
    return spec


def check_python(g: BaseGrader) -> None:
    """Size, syntax, signature and free names of a python grader's source, checked when it is added."""
    if isinstance(g, PythonGrader) and not isinstance(g, IndicatorGrader):
        problems = python_source_problems(g.source) or _outside_names(g.source)
        if problems:
            raise ConfigError(f"python grader {g.name!r}: {problems[0]}")


def _outside_names(source: str) -> list[str]:
    """A problem when the source reads names it neither defines nor imports: only it is shipped and run."""
    try:
        if has_star_import(ast.parse(source)):
            return []  # what `import *` binds is unknown here; the sandbox test run will tell
        names = free_globals(source)
    except (SyntaxError, ValueError):  # reported by python_source_problems
        return []
    if not names:
        return []
    return [f"it uses {', '.join(names)}, defined outside its source (another cell?); only this source "
            "is shipped and run, so define or import them in it"]  # fmt: skip


def check_identifier(name: object, what: str) -> None:
    """Refuse a name the reward formula cannot use as a variable: it must be a plain identifier."""
    if isinstance(name, str) and keyword.iskeyword(name):
        raise ConfigError(f"{what} {name!r} is a Python keyword; pick another name, e.g. '{name}_score'")
    if isinstance(name, str) and name in FUNCTIONS:
        functions = ", ".join(sorted(FUNCTIONS))
        raise ConfigError(f"{what} {name!r} is a function of the reward formula ({functions}); "
                          f"pick another name, e.g. '{name}_score'")  # fmt: skip
    if not isinstance(name, str) or not is_identifier(name):
        raise ConfigError(f"{what} {name!r} is not an identifier usable in the reward formula: use "
                          "letters, digits and _, not starting with a digit (e.g. 'tone_2')")  # fmt: skip


def cluster_map(data: Mapping[str, Any]) -> ClusterMap:
    """A :class:`ClusterMap` from its fields, or a one-line ConfigError."""
    try:
        return ClusterMap(**data)
    except (ValidationError, TypeError) as e:
        problem = e.errors(include_url=False)[0]["msg"] if isinstance(e, ValidationError) else str(e)
        raise ConfigError(f"invalid cluster map: {problem}") from None


class ProjectState(NamedTuple):
    """Everything a project file holds."""

    name: str
    normalize: bool
    formatting: FormattingGrader | None
    rubrics: dict[str, RubricSpec]
    graders: dict[str, tuple[BaseGrader, float]]
    clusters: ClusterMap


def state_to_dict(state: ProjectState) -> dict[str, Any]:
    """The project file's JSON object, keys in a fixed order."""
    fmt = state.formatting
    fmt_dict = None
    if fmt is not None:
        fmt_dict = {
            "name": fmt.name, "weight": fmt.weight, "required_fields": list(fmt.required_fields),
            "json_schema": fmt.json_schema, "partial_credit": fmt.partial_credit, "source": fmt.source,
        }  # fmt: skip
    rubrics = [
        asdict(s) | {"range": list(s.range), "item_fields": list(s.item_fields)}
        for s in state.rubrics.values()
    ]
    return {
        "format": PROJECT_FORMAT,
        "version": PROJECT_VERSION,
        "name": state.name,
        "normalize": state.normalize,
        "formatting": fmt_dict,
        "rubrics": rubrics,
        "graders": [{"weight": w, "config": g.config} for g, w in state.graders.values()],
        "clusters": state.clusters.model_dump(include={"clusters", "rubrics", "field"}),
    }


def parse_state(data: Mapping[str, Any], source: str) -> ProjectState:
    """Validate a project file's object completely; a ProjectFileError names the entry at fault."""
    where = "settings"
    try:
        name, normalize = data["name"], data["normalize"]
        if not isinstance(name, str) or not name or not isinstance(normalize, bool):
            raise ConfigError("name must be a non-empty string and normalize true or false")
        where = "formatting"
        fmt = FormattingGrader(**data["formatting"]) if data.get("formatting") else None
        rubrics: dict[str, RubricSpec] = {}
        for i, entry in enumerate(data["rubrics"]):
            where = f"rubrics[{i}]"
            spec = rubric_spec(**entry, strict=False)  # text older versions took is kept; lint reports it
            if spec.name in rubrics:
                raise ConfigError(f"rubric name {spec.name!r} is not unique")
            rubrics[spec.name] = spec
        graders: dict[str, tuple[BaseGrader, float]] = {}
        for i, entry in enumerate(data["graders"]):
            where = f"graders[{i}]"
            g = grader_from_config(entry["config"])
            if g.name in graders:
                raise ConfigError(f"grader name {g.name!r} is not unique")
            graders[g.name] = (g, finite_weight(entry["weight"], f"grader {g.name!r}"))
        where = "clusters"
        cmap = cluster_map(data["clusters"])
    except (ConfigError, KeyError, TypeError, ValueError) as e:
        detail = f"missing {e}" if isinstance(e, KeyError) else str(e).splitlines()[0]
        raise ProjectFileError(f"project file {source}: {where}: {detail}; it was left untouched") from None
    return ProjectState(name, normalize, fmt, rubrics, graders, cmap)


class FileStamp(NamedTuple):
    """What a project file held when it was last read or written: its bytes' sha256, and its mtime.

    Whether the file changed is decided on the digest alone: an mtime can tick less often than writes
    land (1-2 s on some file systems) and changes on a checkout that rewrites the same bytes.
    """

    digest: str
    mtime_ns: int


def _read(path: Path) -> tuple[bytes, FileStamp]:
    with open(path, "rb") as f:  # one open: the stamp describes exactly the bytes read
        data = f.read()
        return data, FileStamp(hashlib.sha256(data).hexdigest(), os.fstat(f.fileno()).st_mtime_ns)


def disk_stamp(path: Path) -> FileStamp | None:
    """The stamp of the file at ``path`` now; None when there is no file."""
    try:
        return _read(path)[1]
    except (FileNotFoundError, NotADirectoryError):  # no file there (writing will say why, if it fails)
        return None
    except OSError as e:
        raise ProjectFileError(f"cannot read project file {path}: {e.strerror or e}") from None


def read_project(path: Path) -> tuple[ProjectState, FileStamp]:
    """Read and validate the project file at ``path``; it is only ever read here."""
    try:
        raw, stamp = _read(path)
        data = json.loads(raw)
    except OSError as e:
        raise ProjectFileError(f"cannot read project file {path}: {e.strerror or e}") from None
    except (ValueError, UnicodeDecodeError) as e:
        raise ProjectFileError(
            f"project file {path} is not valid JSON ({e}); it was left untouched"
        ) from None
    if not isinstance(data, dict) or data.get("format") != PROJECT_FORMAT:
        raise ProjectFileError(
            f'{path} is not an rftkit_nb project file (no "format": "{PROJECT_FORMAT}"); it was left untouched'
        )
    version = data.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise ProjectFileError(
            f"project file {path} has an invalid version {version!r}; it was left untouched"
        )
    if version > PROJECT_VERSION:
        raise ProjectFileError(
            f"project file {path} is format version {version}, newer than this rftkit_nb reads "
            f"({PROJECT_VERSION}): upgrade rftkit_nb; the file was left untouched"
        )
    return parse_state(data, str(path)), stamp


def file_kind(path: Path) -> str | None:
    """What is at ``path``: None (nothing), ``"project"``, ``"grader"`` (a grader export: a JSON object
    with a ``type`` and a ``name`` that builds as a grader) or ``"other"`` (anything else, such as a JSON
    Schema, or a file that cannot be read), so writers know what they replace.

    Example::

        >>> import tempfile, pathlib
        >>> with tempfile.TemporaryDirectory() as d:
        ...     _ = pathlib.Path(d, "g.json").write_text('{"type": "python", "name": "p", "source": "def grade(s, i): return 1"}')
        ...     _ = pathlib.Path(d, "s.json").write_text('{"type": "object"}')
        ...     [file_kind(pathlib.Path(d, n)) for n in ("g.json", "s.json", "none.json")]
        ['grader', 'other', None]
    """
    if not os.path.lexists(path):
        return None
    try:
        if not path.is_file() or path.stat().st_size > _MAX_SNIFF_BYTES:
            return "other"
        data = json.loads(path.read_bytes())
    except (OSError, ValueError, UnicodeDecodeError):  # unreadable or not JSON: someone's other data
        return "other"
    if isinstance(data, dict) and data.get("format") == PROJECT_FORMAT:
        return "project"
    return "grader" if _is_grader_export(data) else "other"


def _is_grader_export(data: object) -> bool:
    # "type" alone is not enough: a JSON Schema has one too, and is someone's data.
    if not isinstance(data, dict) or "type" not in data or "name" not in data:
        return False
    try:
        grader = grader_from_config(data)
    except ConfigError:
        return False
    # Only what rftkit_nb exports: a row such as {"type": "essay", "name": ...} is someone's data.
    return not isinstance(grader, UnknownGrader)


def dumps(obj: Any) -> str:
    """Indented JSON with a trailing newline: what the project and export files contain."""
    return json.dumps(obj, indent=2, ensure_ascii=False) + "\n"


def atomic_write(path: Path, text: str) -> FileStamp:
    """Write ``text`` (UTF-8) via a temp file in the same directory + fsync + ``os.replace``; its stamp.

    Example::

        >>> import tempfile, pathlib
        >>> with tempfile.TemporaryDirectory() as d:
        ...     _ = atomic_write(pathlib.Path(d, "x.json"), "{}\\n")
        ...     pathlib.Path(d, "x.json").read_text()
        '{}\\n'
    """
    target = Path(os.path.realpath(path))  # write through a symlink rather than replacing the link
    tmp = None
    try:
        mode = target.stat().st_mode & 0o777 if target.exists() else 0o644
        data = text.encode("utf-8")  # bytes, so the digest is of exactly what lands on disk
        with tempfile.NamedTemporaryFile(
            "wb", dir=target.parent, delete=False, prefix=f".{target.name}.", suffix=".tmp"
        ) as f:
            tmp = f.name
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
            mtime_ns = os.fstat(f.fileno()).st_mtime_ns  # os.replace keeps it; a later stat could race
        os.chmod(tmp, mode)
        os.replace(tmp, target)
        tmp = None
        return FileStamp(hashlib.sha256(data).hexdigest(), mtime_ns)
    except OSError as e:
        raise ProjectFileError(f"could not write {path}: {e.strerror or e}; choose another path") from None
    finally:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
