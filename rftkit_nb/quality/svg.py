"""A histogram as inline SVG: a plot in any frontend without matplotlib, built from escaped parts only.

Example::

    >>> histogram([0.1, 0.2, 0.9], title="reward").startswith("<div")
    True
"""

from __future__ import annotations

from collections.abc import Sequence

from rftkit_nb.core import html as h

__all__ = ["histogram"]


def histogram(
    values: Sequence[float], *, title: str, bins: int = 10, low: float = 0.0, high: float = 1.0
) -> str:
    """Counts of ``values`` in ``bins`` equal bins over [low, high] (values outside widen the range)."""
    if not values:
        return ""
    low, high = min(low, *values), max(high, *values)
    width = (high - low) / bins or 1.0
    counts = [0] * bins
    for v in values:
        counts[min(int((v - low) / width), bins - 1)] += 1
    top = max(counts)
    bars = []
    for i, c in enumerate(counts):
        height = 60 * c / top
        tip = f"{low + i * width:.3g}–{low + (i + 1) * width:.3g}: {c}"
        bars.append(f'<rect x="{i * 22 + 2}" y="{62 - height:.1f}" width="20" height="{height:.1f}" '
                    f'fill="var(--jp-brand-color1,#1976d2)"><title>{h.esc(tip)}</title></rect>')  # fmt: skip
    axis = (f'<text x="0" y="76" font-size="10">{h.esc(f"{low:.3g}")}</text>'
            f'<text x="{bins * 22 - 20}" y="76" font-size="10">{h.esc(f"{high:.3g}")}</text>')  # fmt: skip
    svg = f'<svg width="{bins * 22 + 4}" height="80" role="img">{"".join(bars)}{axis}</svg>'
    return f"<div><div style='opacity:.7'>{h.esc(title)} ({len(values)} rows)</div>{svg}</div>"
