"""The Workbench's project file: its versioned JSON format, and reading it back with every entry checked.

The file is indented JSON with a fixed key order and a trailing newline, so it diffs well under git::

    {"format": "rftkit_nb-project", "version": 1, "name": "reward", "normalize": true,
     "formatting": {...} | null, "rubrics": [...], "graders": [{"weight": 1.0, "config": {...}}],
     "clusters": {"clusters": {...}, "rubrics": [...], "field": "cluster"}}

Reading validates everything before anything is used; any problem is a one-line
:class:`ProjectFileError` and the file is never touched. Writing is the store's job, through
:func:`rftkit_nb.core.files.atomic_write` (a crash leaves either the old file or the new one).

Example::

    >>> state = parse_state(state_to_dict(ProjectState("reward", True, None, {}, {}, ClusterMap())), "memory")
    >>> state.name, state.rubrics
    ('reward', {})
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import asdict
from pathlib import Path
from typing import Any, NamedTuple

from rftkit_nb.core.clusters import ClusterMap
from rftkit_nb.core.files import FileStamp, read_stamped
from rftkit_nb.core.graders import BaseGrader, UnknownGrader, grader_from_config
from rftkit_nb.core.rubrics import FormattingGrader
from rftkit_nb.core.values import finite_weight
from rftkit_nb.core.workbench.specs import RubricSpec, cluster_map, rubric_spec
from rftkit_nb.errors import ConfigError, ProjectFileError

__all__ = [
    "PROJECT_FORMAT",
    "PROJECT_VERSION",
    "FileStamp",
    "ProjectState",
    "disk_stamp",
    "file_kind",
    "parse_state",
    "read_project",
    "state_to_dict",
]

PROJECT_FORMAT = "rftkit_nb-project"
PROJECT_VERSION = 1
# A grader config is small (each python source < 256 kB); a bigger file is some other data, not parsed.
_MAX_SNIFF_BYTES = MAX_PROJECT_BYTES = 16 * 1024 * 1024  # a project file holds text, never this much


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


def disk_stamp(path: Path) -> FileStamp | None:
    """The stamp of the file at ``path`` now; None when there is no file."""
    try:
        return read_stamped(path)[1]
    except (FileNotFoundError, NotADirectoryError):  # no file there (writing will say why, if it fails)
        return None
    except OSError as e:
        raise ProjectFileError(f"cannot read project file {path}: {e.strerror or e}") from None


def read_project(path: Path) -> tuple[ProjectState, FileStamp]:
    """Read and validate the project file at ``path``; it is only ever read here."""
    try:
        size = path.stat().st_size
        if size > MAX_PROJECT_BYTES:
            raise ProjectFileError(f"project file {path} is {size / 1e6:.0f} MB, over the {MAX_PROJECT_BYTES // 2**20} "
                                   "MB a project file may hold; it was not read and was left untouched")  # fmt: skip
        raw, stamp = read_stamped(path)
        data = json.loads(raw)
    except OSError as e:
        raise ProjectFileError(f"cannot read project file {path}: {e.strerror or e}") from None
    except RecursionError:
        raise ProjectFileError(f"project file {path} is nested too deeply to be a project file; it was left "
                               "untouched") from None  # fmt: skip
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
