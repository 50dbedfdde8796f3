"""Small HTML building blocks for the ``_repr_html_`` of core objects.

Everything that goes into the markup passes through :func:`esc` first; nothing here trusts its input.
Core objects render in any frontend (JupyterLab, Notebook 7, VS Code) without extra CSS, so styles are
inline and colours come from the frontend's own variables with plain fallbacks.

Example::

    >>> card("tone", "score_model", [("model", "gpt-4.1-mini")]).startswith("<div")
    True
"""

from __future__ import annotations

import html
import json
from collections.abc import Iterable, Sequence
from typing import Any

_BOX = (
    "border:1px solid var(--jp-border-color2,#d0d7de);border-radius:6px;padding:6px 10px;"
    "margin:2px 0;font-family:var(--jp-ui-font-family,system-ui,sans-serif);font-size:13px;"
    "max-width:900px"
)
_BADGE = (
    "display:inline-block;padding:0 6px;border-radius:10px;font-size:11px;"
    "background:var(--jp-layout-color2,#eef1f4);color:var(--jp-ui-font-color1,#333);margin-left:6px"
)
_LEVEL_COLOURS = {"error": "#c62828", "warning": "#b26a00", "info": "#1565c0", "ok": "#2e7d32"}


def esc(value: object) -> str:
    """Escape any value for HTML text or attribute context."""
    return html.escape(str(value), quote=True)


def shorten(text: str, limit: int = 80) -> str:
    """One line of at most ``limit`` characters, for reprs."""
    one_line = " ".join(str(text).split())
    return one_line if len(one_line) <= limit else one_line[: limit - 1] + "…"


def badge(text: str, level: str | None = None) -> str:
    style = _BADGE
    if level in _LEVEL_COLOURS:
        style += f";color:#fff;background:{_LEVEL_COLOURS[level]}"
    return f'<span style="{style}">{esc(text)}</span>'


class Markup(str):
    """Text that is already HTML built from escaped parts; :func:`table` inserts it as it is."""


def table(headers: Sequence[str], rows: Iterable[Sequence[object]]) -> str:
    """A compact, horizontally scrollable table; every cell is escaped unless it is :class:`Markup`."""
    head = "".join(f'<th style="text-align:left;padding:2px 8px">{esc(h)}</th>' for h in headers)
    body = "".join(
        "<tr>"
        + "".join(
            f'<td style="padding:2px 8px;vertical-align:top">{c if isinstance(c, Markup) else esc(c)}</td>'
            for c in row
        )
        + "</tr>"
        for row in rows
    )
    return (
        '<div style="overflow-x:auto"><table style="border-collapse:collapse">'
        f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>"
    )


def json_block(obj: Any, summary: str = "JSON") -> str:
    """A collapsed ``<details>`` holding pretty-printed, escaped JSON."""
    text = json.dumps(obj, indent=2, ensure_ascii=False)
    return (
        f"<details><summary>{esc(summary)}</summary>"
        f'<pre style="white-space:pre-wrap;margin:4px 0">{esc(text)}</pre></details>'
    )


def card(
    title: str,
    kind: str,
    rows: Sequence[tuple[str, object]] = (),
    *,
    body_html: str = "",
    config: Any = None,
) -> str:
    """A titled box with a type badge, key/value rows, optional trusted inner HTML and a JSON block.

    ``body_html`` must itself have been built from escaped parts (it is inserted as-is).
    """
    lines = "".join(f'<div><span style="opacity:.7">{esc(k)}:</span> {esc(v)}</div>' for k, v in rows)
    json_html = json_block(config) if config is not None else ""
    return (
        f'<div style="{_BOX}"><div><b>{esc(title)}</b>{badge(kind)}</div>{lines}{body_html}{json_html}</div>'
    )
