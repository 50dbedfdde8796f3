"""Moved to :mod:`rftkit_nb.core.workbench.store`; kept so old imports work.

``AutosavedState``, the Workbench's former base class, is gone: the Workbench now holds a
:class:`~rftkit_nb.core.workbench.store.ProjectStore` instead of inheriting one.
"""

from rftkit_nb.core.workbench.store import DEFAULT_PROJECT_FILE, ProjectStore

__all__ = ["DEFAULT_PROJECT_FILE", "ProjectStore"]
