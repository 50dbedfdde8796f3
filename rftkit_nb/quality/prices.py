"""What hosted RFT costs: a dated price table the user edits, never prices taken as truths.

Prices change; each figure here carries the date it was read and where from. Replace any of them with
``PRICES.with_model(...)`` / ``PRICES.replace(...)``, or load your own table (your negotiated or
data-zone rates) from JSON with :meth:`PriceTable.load`.

Example::

    >>> PRICES.model("gpt-4.1-mini-2025-04-14").input_per_million
    0.4
    >>> PRICES.with_model("my-judge", input=1.0, output=2.0).model("my-judge").output_per_million
    2.0
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from rftkit_nb.core import html as h
from rftkit_nb.errors import ConfigError

__all__ = ["PRICES", "ModelPrice", "PriceTable"]


@dataclass(frozen=True)
class ModelPrice:
    """US dollars per million tokens for one judge model."""

    input_per_million: float
    output_per_million: float


@dataclass(frozen=True)
class PriceTable:
    """Judge prices by model (longest name prefix wins, so dated snapshots find their family), the
    training price per hour, and the spend at which the platform pauses a job."""

    as_of: str
    source: str
    models: Mapping[str, ModelPrice]
    training_per_hour: float
    auto_pause: float | None  # Azure pauses an RFT job at this spend (training + grading)
    notes: tuple[str, ...] = field(default=())

    def model(self, name: str) -> ModelPrice:
        """The price of ``name``: exact, else the longest family prefix; ConfigError naming the fix."""
        if name in self.models:
            return self.models[name]
        family = [m for m in self.models if name.startswith(m)]
        if family:
            return self.models[max(family, key=len)]
        raise ConfigError(f"no price for judge model {name!r} in the table of {self.as_of}; add it with "
                          f"prices.with_model({name!r}, input=..., output=...)")  # fmt: skip

    def cheapest(self) -> str:
        """The model with the lowest input + output price."""
        return min(
            self.models, key=lambda m: self.models[m].input_per_million + self.models[m].output_per_million
        )

    def with_model(self, name: str, *, input: float, output: float) -> PriceTable:
        """A copy with ``name`` priced at ``input`` / ``output`` dollars per million tokens."""
        if input < 0 or output < 0:
            raise ConfigError(f"prices for {name!r} must be >= 0, got {input} / {output}")
        return dataclasses.replace(
            self, models={**self.models, name: ModelPrice(float(input), float(output))}
        )

    def replace(self, **changes: object) -> PriceTable:
        """A copy with other fields changed, e.g. ``training_per_hour=50`` or ``auto_pause=None``."""
        return dataclasses.replace(self, **changes)  # type: ignore[arg-type]

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> PriceTable:
        """A table from JSON: ``{"as_of", "source", "training_per_hour", "auto_pause",
        "models": {name: [input, output]}}``."""
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
            models = {k: ModelPrice(float(v[0]), float(v[1])) for k, v in data["models"].items()}
            return cls(str(data["as_of"]), str(data.get("source", path)), models,
                       float(data["training_per_hour"]), data.get("auto_pause"))  # fmt: skip
        except (OSError, ValueError, KeyError, TypeError, IndexError) as e:
            raise ConfigError(
                f"price table {path}: {e}; expected as_of, training_per_hour and models"
            ) from None

    def __repr__(self) -> str:
        lines = [f"PriceTable(as of {self.as_of}; {self.source})",
                 f"  training ${self.training_per_hour:g}/hour; auto-pause at "
                 f"{'$' + format(self.auto_pause, ',.0f') if self.auto_pause else 'none'}"]  # fmt: skip
        lines += [f"  {m}: ${p.input_per_million:g} in / ${p.output_per_million:g} out per 1M tokens"
                  for m, p in self.models.items()]  # fmt: skip
        return "\n".join(lines + [f"  note: {n}" for n in self.notes])

    def _repr_html_(self) -> str:
        rows = [(m, p.input_per_million, p.output_per_million) for m, p in self.models.items()]
        facts = [("as of", self.as_of), ("source", self.source), ("training per hour", f"${self.training_per_hour:g}"),
                 ("auto-pause", f"${self.auto_pause:,.0f}" if self.auto_pause else "none")]  # fmt: skip
        return h.card(
            "price table", self.as_of, facts, body_html=h.table(["model", "$/1M in", "$/1M out"], rows)
        )


# Read 2026-12-04 from the platforms' public pages (see docs/quality.md). Azure bills grader tokens at
# data-zone rates, which can differ from these list prices: check your own before relying on a figure.
PRICES = PriceTable(
    as_of="2026-12-04",
    source="Azure OpenAI RFT docs (training, auto-pause, o3-mini grader example) and OpenAI list prices",
    models={
        "o3-mini": ModelPrice(1.10, 4.40),
        "gpt-4o": ModelPrice(2.50, 10.00),
        "gpt-4o-mini": ModelPrice(0.15, 0.60),
        "gpt-4.1": ModelPrice(2.00, 8.00),
        "gpt-4.1-mini": ModelPrice(0.40, 1.60),
        "gpt-4.1-nano": ModelPrice(0.10, 0.40),
    },
    training_per_hour=100.0,
    auto_pause=5000.0,
    notes=("grader tokens are billed after training, for every judge on every sample, masked or not",
           "global training is 10-30% cheaper than regional; the developer tier is 50% off on spot capacity"),
)  # fmt: skip
