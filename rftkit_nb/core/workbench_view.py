"""Moved to :mod:`rftkit_nb.core.workbench.views`; kept so old imports work."""

from rftkit_nb.core.workbench.views import cluster_findings, render_html, render_text, status

__all__ = ["cluster_findings", "render_html", "render_text", "status"]
