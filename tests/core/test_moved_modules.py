"""Specification of the old module paths: each still exposes its public names, as the new modules' objects."""

from __future__ import annotations

import importlib

import pytest

# old module -> {name: the module it now lives in, "module:name" when it was renamed there}
MOVED = {
    "rftkit_nb.core.project": {
        "PROJECT_FORMAT": "rftkit_nb.core.workbench.project_file",
        "PROJECT_VERSION": "rftkit_nb.core.workbench.project_file",
        "ProjectState": "rftkit_nb.core.workbench.project_file",
        "disk_stamp": "rftkit_nb.core.workbench.project_file",
        "file_kind": "rftkit_nb.core.workbench.project_file",
        "parse_state": "rftkit_nb.core.workbench.project_file",
        "read_project": "rftkit_nb.core.workbench.project_file",
        "state_to_dict": "rftkit_nb.core.workbench.project_file",
        "RubricSpec": "rftkit_nb.core.workbench.specs",
        "check_python": "rftkit_nb.core.workbench.specs",
        "cluster_map": "rftkit_nb.core.workbench.specs",
        "item_fields_of": "rftkit_nb.core.workbench.specs",
        "rubric_spec": "rftkit_nb.core.workbench.specs",
        "FileStamp": "rftkit_nb.core.files",
        "atomic_write": "rftkit_nb.core.files",
        "dumps": "rftkit_nb.core.files:canonical_json",
        "check_identifier": "rftkit_nb.core.names",
        "finite_weight": "rftkit_nb.core.values",
    },
    "rftkit_nb.core.workbench_store": {
        "DEFAULT_PROJECT_FILE": "rftkit_nb.core.workbench.store",
        "ProjectStore": "rftkit_nb.core.workbench.store",
    },
    "rftkit_nb.core.workbench_clusters": {
        "LiveClusterMap": "rftkit_nb.core.workbench.clusters",
        "place_rubric": "rftkit_nb.core.workbench.clusters",
    },
    "rftkit_nb.core.workbench_view": {
        "cluster_findings": "rftkit_nb.core.workbench.views",
        "render_html": "rftkit_nb.core.workbench.views",
        "render_text": "rftkit_nb.core.workbench.views",
        "status": "rftkit_nb.core.workbench.views",
    },
}
CASES = [
    pytest.param(old, name, new, id=f"{old.rsplit('.', 1)[1]}.{name}")
    for old, names in MOVED.items()
    for name, new in names.items()
]


@pytest.mark.parametrize(("old", "name", "new"), CASES)
def test_old_path_when_imported_exposes_the_moved_name_as_the_same_object(old, name, new):
    module, _, renamed = new.partition(":")
    assert getattr(importlib.import_module(old), name) is getattr(
        importlib.import_module(module), renamed or name
    )


@pytest.mark.parametrize("old", sorted(MOVED))
def test_old_path_when_read_lists_exactly_its_moved_names_and_says_where_they_went(old):
    module = importlib.import_module(old)
    assert sorted(module.__all__) == sorted(MOVED[old])
    assert "kept so old imports work" in " ".join(module.__doc__.split())


@pytest.mark.parametrize(
    ("module", "name"),
    [
        pytest.param("rftkit_nb.core.workbench", "Workbench", id="workbench"),
        pytest.param("rftkit_nb.core.workbench", "DEFAULT_PROJECT_FILE", id="default-project-file"),
        pytest.param("rftkit_nb.core.workbench", "INDICATOR_PREFIX", id="indicator-prefix"),
        pytest.param("rftkit_nb.core.workbench", "LiveClusterMap", id="live-cluster-map"),
        pytest.param("rftkit_nb.core.workbench", "RubricSpec", id="rubric-spec"),
        pytest.param("rftkit_nb.core.lint", "has_star_import", id="lint-has-star-import"),
        pytest.param("rftkit_nb.core.graders", "is_identifier", id="graders-is-identifier"),
        pytest.param("rftkit_nb.core.rubrics", "DEFAULT_JUDGE_MODEL", id="rubrics-default-judge-model"),
    ],
)
def test_name_when_imported_from_where_it_was_still_imports(module, name):
    assert getattr(importlib.import_module(module), name) is not None
    assert name in importlib.import_module(module).__all__


def test_workbench_when_imported_from_the_package_root_is_the_facade():
    import rftkit_nb
    from rftkit_nb.core.workbench import Workbench

    assert rftkit_nb.Workbench is Workbench


# Every public attribute the Workbench had before it became a package, plus edit_clusters (the one
# transaction its live cluster map and widgets edit through).
WORKBENCH_SURFACE = [
    "add_cluster", "add_grader", "add_rubric", "autosave_blocked", "blocked", "cluster_field", "clusters",
    "configure", "edit_clusters", "example", "export", "formatting", "grader", "graders", "kind_of", "lint",
    "load_or_empty", "name", "names", "normalize", "observe", "open", "path", "remove", "remove_cluster",
    "rename", "rename_cluster", "rubrics", "save", "set_cluster", "set_example", "set_formatting", "summary",
    "to_dict", "undo", "unobserve", "update",
]  # fmt: skip


def test_workbench_when_its_public_surface_is_listed_keeps_every_name_it_had():
    from rftkit_nb.core.workbench import Workbench

    assert sorted(n for n in dir(Workbench(path=None)) if not n.startswith("_")) == WORKBENCH_SURFACE
