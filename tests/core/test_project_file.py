"""The project file (rftkit_nb.core.workbench.project_file): its format, what counts as a grader export,
unreadable files left untouched, projects written by older versions, opening another project while the
work is only in memory, and the composition settings."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rftkit_nb.core.graders import PythonGrader, StringCheckGrader
from rftkit_nb.core.rubrics import IndicatorGrader
from rftkit_nb.core.workbench import Workbench
from rftkit_nb.core.workbench.project_file import PROJECT_FORMAT, PROJECT_VERSION, file_kind
from rftkit_nb.core.workbench.specs import check_python
from rftkit_nb.errors import ConfigError, ProjectFileError

GRADE = "def grade(sample, item):\n    return 1.0\n"
EXACT = StringCheckGrader(
    name="exact", input="{{ sample.output_text }}", reference="{{ item.a }}", operation="eq"
)
UNCLOSED = "1 = cites {{ item.source as given"
OUTSIDE_NAMES = "def grade(sample, item):\n    return helper(sample)\n"
SCHEMA = {"$schema": "https://json-schema.org/draft/2020-12/schema", "type": "object",
          "properties": {"answer": {"type": "string"}}}  # fmt: skip


def legacy_project(path: Path) -> Path:
    """A project file as an older version wrote it: entries today's checks refuse for new edits."""
    rubric = {"name": "tone", "text": UNCLOSED, "weight": 1.0, "model": "gpt-4.1-mini-2025-04-14",
              "range": [0.0, 1.0], "input": None, "item_fields": []}  # fmt: skip
    grader = {"type": "python", "name": "uses_helper", "source": OUTSIDE_NAMES}
    data = {"format": PROJECT_FORMAT, "version": 1, "name": "reward", "normalize": True, "formatting": None,
            "rubrics": [rubric], "graders": [{"weight": 1.0, "config": grader}],
            "clusters": {"clusters": {}, "rubrics": [], "field": "cluster"}}  # fmt: skip
    path.write_text(json.dumps(data, indent=2))
    return path


# --- what file_kind calls a grader export ------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "kind"),
    [
        pytest.param(SCHEMA, "other", id="json-schema"),
        pytest.param({"type": "string_check"}, "other", id="type-without-name"),
        pytest.param({"type": "python", "name": "p", "source": "def grade(:"}, "other", id="not-a-grader"),
        pytest.param({"type": "python", "name": "p", "source": OUTSIDE_NAMES}, "grader", id="python-export"),
        pytest.param(
            {
                "type": "multi",
                "name": "reward",
                "calculate_output": "exact",
                "graders": {
                    "exact": {
                        "type": "string_check",
                        "name": "exact",
                        "operation": "eq",
                        "input": "{{ sample.output_text }}",
                        "reference": "{{ item.answer }}",
                    }
                },
            },
            "grader",
            id="multi-export",
        ),
    ],
)
def test_file_kind_when_json_has_a_type_is_a_grader_only_if_it_builds_with_a_name(tmp_path, content, kind):
    path = tmp_path / "file.json"
    path.write_text(json.dumps(content))
    assert file_kind(path) == kind


def test_export_when_the_path_holds_a_json_schema_refuses_and_leaves_it(tmp_path):
    wb = Workbench(path=None)
    wb.add_rubric("tone", "1 = polite")
    schema = tmp_path / "schema.json"
    schema.write_text(json.dumps(SCHEMA))

    with pytest.raises(ConfigError, match="is not a grader JSON"):
        wb.export(schema)
    assert json.loads(schema.read_text()) == SCHEMA

    wb.export(tmp_path / "grader.json")
    wb.export(tmp_path / "grader.json")  # a previous export is replaced without asking
    assert json.loads((tmp_path / "grader.json").read_text()) == wb.grader().config


# --- projects written by older versions --------------------------------------------------------------


def test_project_when_written_by_an_older_version_loads_and_lint_reports_what_new_edits_refuse(tmp_path):
    wb = Workbench(legacy_project(tmp_path / "rftkit.json"))

    assert wb.blocked is None
    assert wb.names() == ["tone", "uses_helper"]
    assert wb.rubrics["tone"].text == UNCLOSED  # kept as written, and saved back as written
    errors = {f.where: f.message for f in wb.lint().errors}
    assert "never closed" in errors["rubrics.tone"]
    assert "helper" in errors["reward.graders.uses_helper.source"]
    judge = wb.grader().graders["tone"].config
    assert "{{ item.source" not in json.dumps(judge)  # the judge is shown the text literally
    assert "{ { item.source" in judge["input"][0]["content"]


def test_project_when_written_by_an_older_version_survives_edits_undo_and_reopening(tmp_path):
    path = legacy_project(tmp_path / "rftkit.json")
    wb = Workbench(path)

    wb.add_rubric("clarity", "1 = clear")
    wb.undo()
    assert Workbench(path).to_dict() == wb.to_dict()
    assert wb.rubrics["tone"].text == UNCLOSED


@pytest.mark.parametrize(
    "edit",
    [
        pytest.param(lambda wb: wb.add_rubric("style", UNCLOSED), id="new-rubric"),
        pytest.param(lambda wb: wb.update("tone", weight=2), id="edit-of-a-kept-rubric"),
        pytest.param(
            lambda wb: wb.add_grader({"type": "python", "name": "other", "source": OUTSIDE_NAMES}),
            id="new-python-grader",
        ),
    ],
)
def test_new_edit_when_the_project_came_from_an_older_version_still_gets_the_strict_checks(tmp_path, edit):
    wb = Workbench(legacy_project(tmp_path / "rftkit.json"))
    before = wb.to_dict()
    with pytest.raises(ConfigError):
        edit(wb)
    assert wb.to_dict() == before


# --- star imports: one rule for the add-time check and lint -------------------------------------------

NESTED_STAR = """\
try:
    from math import *
except ImportError:
    pass


def grade(sample, item):
    return floor(1.5)
"""


def test_check_python_when_a_star_import_is_nested_accepts_it_as_lint_does():
    g = PythonGrader(name="starred", source=NESTED_STAR)
    check_python(g)  # raised "defined outside its source" when only top-level star imports counted
    wb = Workbench(path=None)
    wb.add_grader(g)
    findings = [f for f in wb.lint() if f.where.endswith("starred.source")]
    assert [f.level for f in findings] == ["warning"]
    assert "import *" in findings[0].message


# --- opening another project while autosave is blocked ---------------------------------------------


@pytest.fixture
def blocked(tmp_path: Path) -> Workbench:
    bad = tmp_path / "rftkit.json"
    bad.write_text("{ not json")
    wb = Workbench.load_or_empty(bad)
    assert wb.blocked is not None
    return wb


@pytest.fixture
def other(tmp_path: Path) -> Path:
    path = tmp_path / "other.json"
    Workbench(path).add_rubric("clarity", "1 = clear")
    return path


def test_open_when_autosave_is_blocked_and_work_is_unsaved_refuses_in_one_line(blocked, other):
    blocked.add_rubric("tone", "1 = polite")

    with pytest.raises(
        ConfigError, match=r"not opening .*other\.json: .*%rft save OTHER\.json first"
    ) as info:
        blocked.open(other)
    assert "\n" not in str(info.value)
    assert list(blocked.rubrics) == ["tone"]
    assert blocked.blocked is not None


def test_open_when_told_to_discard_replaces_the_unsaved_work(blocked, other):
    blocked.add_rubric("tone", "1 = polite")
    blocked.open(other, discard=True)
    assert list(blocked.rubrics) == ["clarity"]
    assert blocked.blocked is None


def test_open_when_autosave_is_blocked_but_nothing_was_done_opens(blocked, other):
    blocked.open(other)
    assert list(blocked.rubrics) == ["clarity"]


# --- the cluster field reaches the map's observers ----------------------------------------------------


@pytest.mark.parametrize(
    "set_field",
    [
        pytest.param(lambda wb: wb.configure(cluster_field="meta.kind"), id="configure"),
        pytest.param(lambda wb: setattr(wb.clusters, "field", "meta.kind"), id="map-field-assignment"),
    ],
)
def test_cluster_field_when_changed_regenerates_indicators_built_on_the_live_map(set_field):
    wb = Workbench(path=None)
    wb.add_rubric("tone", "1 = polite", clusters=["chat"])
    indicator = IndicatorGrader(name="applies_tone", rubric_name="tone", cluster_map=wb.clusters)
    events: list[str] = []
    wb.clusters.observe(events.append)

    set_field(wb)

    assert "CLUSTER_FIELD = 'meta.kind'" in indicator.source
    assert events == ["cluster field set to 'meta.kind'"]
    wb.undo()
    assert "CLUSTER_FIELD = 'cluster'" in indicator.source


def test_file_kind_when_json_row_has_type_and_name_then_it_is_not_a_grader_export(tmp_path):
    from rftkit_nb.core.workbench.project_file import file_kind

    row = tmp_path / "row.json"
    row.write_text('{"type": "essay", "name": "Ada", "text": "..."}')
    assert file_kind(row) == "other"  # so %rft export will not overwrite it without --overwrite


# --- the file format ------------------------------------------------------------------------------


def test_project_file_is_versioned_indented_json_with_a_trailing_newline(wb, project, design):
    design(wb)
    text = project.read_text()
    data = json.loads(text)

    assert list(data)[:2] == ["format", "version"]
    assert (data["format"], data["version"]) == (PROJECT_FORMAT, PROJECT_VERSION)
    assert text.endswith("}\n")
    assert text.startswith('{\n  "format"')
    assert text == json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def test_project_file_when_reopened_restores_everything(wb, project, design):
    design(wb)
    wb.configure(name="final", normalize=False, cluster_field="meta.kind")

    again = Workbench(project)
    assert again.to_dict() == wb.to_dict()
    assert again.grader() == wb.grader()
    assert again.formatting == wb.formatting


VALID = {"format": PROJECT_FORMAT, "version": 1, "name": "r", "normalize": True, "formatting": None,
         "rubrics": [], "graders": [], "clusters": {"clusters": {}, "rubrics": [], "field": "cluster"}}  # fmt: skip


RUBRIC = {
    "name": "tone",
    "text": "t",
    "weight": 1.0,
    "model": "m",
    "range": [0, 1],
    "input": None,
    "item_fields": [],
}


@pytest.mark.parametrize(
    ("content", "match"),
    [
        pytest.param(b"{", "not valid JSON", id="truncated"),
        pytest.param(b"\x89PNG\r\n", "not valid JSON", id="binary"),
        pytest.param(b"[]", "not an rftkit_nb project file", id="list"),
        pytest.param(json.dumps({**VALID, "version": 2}).encode(), "newer than this rftkit_nb", id="newer"),
        pytest.param(json.dumps({**VALID, "version": "1"}).encode(), "invalid version", id="version-string"),
        pytest.param(
            json.dumps({**VALID, "rubrics": [{**RUBRIC, "weight": -1}]}).encode(),
            r"rubrics\[0\]",
            id="bad-weight",
        ),
        pytest.param(
            json.dumps({**VALID, "rubrics": [{**RUBRIC, "colour": 1}]}).encode(),
            r"rubrics\[0\]",
            id="unknown-key",
        ),
        pytest.param(
            json.dumps({**VALID, "rubrics": [RUBRIC, RUBRIC]}).encode(), "unique", id="duplicate-rubric"
        ),
        pytest.param(
            json.dumps({**VALID, "rubrics": [{**RUBRIC, "name": "1x"}]}).encode(),
            "cannot be a formula variable",
            id="bad-name",
        ),
        pytest.param(
            json.dumps(
                {
                    **VALID,
                    "graders": [{"weight": 1, "config": {"type": "python", "name": "tone", "source": GRADE}}],
                    "rubrics": [RUBRIC],
                }
            ).encode(),
            "two graders are named",
            id="name-clash",
        ),
        pytest.param(
            json.dumps({**VALID, "graders": [{"config": EXACT.config}]}).encode(),
            r"graders\[0\]: missing 'weight'",
            id="missing-weight",
        ),
        pytest.param(
            json.dumps({**VALID, "clusters": {"field": ""}}).encode(), "clusters", id="bad-cluster-field"
        ),
        pytest.param(
            json.dumps({k: v for k, v in VALID.items() if k != "name"}).encode(),
            "missing 'name'",
            id="missing-name",
        ),
    ],
)
def test_project_file_when_unreadable_raises_one_line_error_and_is_left_untouched(project, content, match):
    project.write_bytes(content)

    with pytest.raises(ProjectFileError, match=match) as info:
        Workbench(project)
    assert "\n" not in str(info.value)
    assert project.read_bytes() == content

    wb = Workbench.load_or_empty(project)
    assert wb.blocked is not None
    assert wb.names() == []
    wb.add_rubric("tone", "t")  # in memory only
    assert project.read_bytes() == content
    assert "autosave OFF" in repr(wb)
