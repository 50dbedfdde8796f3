"""Moved to :mod:`rftkit_nb.core.workbench.project_file` (the format), :mod:`rftkit_nb.core.workbench.specs`
(the entries' checks), :mod:`rftkit_nb.core.files` (atomic writes, canonical JSON), :mod:`rftkit_nb.core.names`
and :mod:`rftkit_nb.core.values` (the identifier and weight rules); kept so old imports work."""

from rftkit_nb.core.files import FileStamp, atomic_write
from rftkit_nb.core.files import canonical_json as dumps
from rftkit_nb.core.names import check_identifier
from rftkit_nb.core.values import finite_weight
from rftkit_nb.core.workbench.project_file import (
    PROJECT_FORMAT,
    PROJECT_VERSION,
    ProjectState,
    disk_stamp,
    file_kind,
    parse_state,
    read_project,
    state_to_dict,
)
from rftkit_nb.core.workbench.specs import RubricSpec, check_python, cluster_map, item_fields_of, rubric_spec

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
