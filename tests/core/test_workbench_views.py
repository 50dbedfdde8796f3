"""The Workbench's views (rftkit_nb.core.workbench.views): text and escaped HTML reprs, and the lint
findings only the Workbench knows (the cluster map's coverage)."""

from __future__ import annotations

from rftkit_nb.core.graders import PythonGrader
from rftkit_nb.core.workbench import Workbench

GRADE = "def grade(sample, item):\n    return 1.0\n"
HOSTILE = '<img src=x onerror="alert(1)">'


def test_reprs_show_the_design_and_escape_every_user_value():
    wb = Workbench(None)
    wb.add_rubric("tone", f"Be kind {HOSTILE}", clusters=[HOSTILE])
    wb.add_grader(PythonGrader(name="p", source=GRADE))

    text, html = repr(wb), wb._repr_html_()
    for part in ("tone", "p | python", "formula:", "lint:", HOSTILE, "in memory"):
        assert part in text
    assert "<img" not in html
    assert "&lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in html


def test_repr_when_empty_says_so_without_raising():
    wb = Workbench(None)
    assert "formula: (none: the workbench is empty" in repr(wb)
    assert "workbench is empty" in wb._repr_html_()
    assert [f.level for f in wb.lint()] == ["error"]


def test_lint_reports_uncovered_rubrics_empty_clusters_and_rows_without_a_cluster(design):
    wb = design(Workbench(None))
    wb.add_rubric("clarity", "c")
    wb.set_cluster("poetry", "clarity", False)

    report = wb.lint(dataset=[{"cluster": "chat", "a": "x"}, {"a": "y"}])
    messages = [(f.level, f.message) for f in report]
    assert ("warning", "rubric 'clarity' is in no cluster, so it never counts") in messages
    assert ("info", "rows of cluster 'poetry' are graded without any rubric") in messages
    assert any("1 of 2 rows have no known cluster at item.cluster (first: row 1)" in m for _, m in messages)
