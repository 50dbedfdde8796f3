"""Small rich objects the magics return: a one-line note and a block of help text.

Each has an escaped ``_repr_html_`` for JupyterLab, Notebook 7 and VS Code, and a plain ``__repr__`` for a
terminal IPython or a CI log.

Example::

    >>> Note("wrote reward.json")
    wrote reward.json
    >>> "&lt;b&gt;" in HelpText("<b>")._repr_html_()
    True
"""

from __future__ import annotations

from dataclasses import dataclass

from rftkit_nb.core import html as h

__all__ = ["HelpText", "Note"]


@dataclass(frozen=True)
class Note:
    """A one-line message: what a command did, or what to do next."""

    text: str
    level: str = "ok"  # ok / info / warning

    def __repr__(self) -> str:
        return self.text

    def _repr_html_(self) -> str:
        return f"<div>{h.badge(self.level, self.level)} {h.esc(self.text)}</div>"


@dataclass(frozen=True)
class HelpText:
    """Preformatted help (usage lines and options)."""

    text: str

    def __repr__(self) -> str:
        return self.text

    def _repr_html_(self) -> str:
        return f'<pre style="white-space:pre-wrap;margin:4px 0">{h.esc(self.text)}</pre>'
