"""The judge phase of a run: score_model, label_model and cosine, only where the reward depends on them.

Given the local scores of a row, :meth:`Formula.depends_on` says which judges can still move the
reward; the others are masked there (``not_applicable``) and never sent. Each remaining request is
rendered, then the judge answers them (cache first, bounded concurrency, in-flight de-duplication).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from rftkit_nb.core.formula import parse_formula
from rftkit_nb.core.graders import BaseGrader, MultiGrader, TextSimilarityGrader
from rftkit_nb.core.templates import render
from rftkit_nb.errors import ErrorCategory, GradingError, RftkitError
from rftkit_nb.scoring.outcomes import ERROR, NOT_APPLICABLE, SKIPPED, JudgeCalls, Outcome, reward_input
from rftkit_nb.scoring.rows import SampleRow
from rftkit_nb.scoring.runners import build_judge_request

__all__ = ["NO_JUDGE_HINT", "JudgePhase", "applicability"]

NO_JUDGE_HINT = ("no judge configured: set OPENAI_API_KEY (or AZURE_OPENAI_ENDPOINT), or name one: "
                 "%rft score DF --judge VAR in a notebook, score(..., judge=Judge(...)) in Python")  # fmt: skip
MASKED = "masked: the reward does not depend on it for this row"
COSINE_MODEL = "text-embedding-3-large"  # the model OpenAI's cosine metric uses


def applicability(
    grader: BaseGrader, keys: Sequence[str], outcomes: Mapping[str, Sequence[Outcome | None]], n_rows: int
) -> dict[str, list[bool]]:
    """Per judge key and row: can the reward depend on that judge, given the row's local scores?"""
    if not isinstance(grader, MultiGrader):
        return {k: [True] * n_rows for k in keys}
    formula = parse_formula(grader.calculate_output)
    local_keys = [k for k in grader.graders if k not in keys]
    result: dict[str, list[bool]] = {k: [] for k in keys}
    for i in range(n_rows):
        # An errored local grader counts 0, as on the service; an unfinished one is unknown.
        known = {k: reward_input(outcomes[k][i]) for k in local_keys if outcomes[k][i] is not None}
        movable = formula.depends_on(known)
        for key in keys:
            result[key].append(key in movable)
    return result


@dataclass
class JudgePhase:
    """Runs the judges of one scoring run and records what happened."""

    leaves: Mapping[str, BaseGrader]
    rows: Sequence[SampleRow]
    outcomes: dict[str, list[Outcome | None]]
    notes: list[str] = field(default_factory=list)
    needed: int = 0
    sent: int = 0
    cached: int = 0
    shared: int = 0

    @property
    def calls(self) -> JudgeCalls:
        """What the run asked of the judge (counting only requests that finished)."""
        hosted = sum(len(self.rows) for g in self.leaves.values() if g.type in ("score_model", "label_model"))
        return JudgeCalls(
            needed=self.needed, sent=self.sent, cached=self.cached, shared=self.shared, hosted=hosted
        )

    def mask(self, applicable: Mapping[str, list[bool]]) -> None:
        for key, flags in applicable.items():
            for i, applies in enumerate(flags):
                if not applies:
                    self.outcomes[key][i] = Outcome(None, NOT_APPLICABLE, None, MASKED)

    def skip(self, applicable: Mapping[str, list[bool]]) -> None:
        for key, flags in applicable.items():
            for i, applies in enumerate(flags):
                if applies:
                    self.outcomes[key][i] = Outcome(None, SKIPPED, None, NO_JUDGE_HINT)

    async def run_endpoints(self, applicable: Mapping[str, list[bool]], progress: Any = None) -> None:
        """Score the ``endpoint`` graders (Azure preview) on the rows where the reward depends on them."""
        from rftkit_nb.scoring.endpoint import score_endpoint

        for key, flags in applicable.items():
            rows = [i for i, applies in enumerate(flags) if applies]
            pairs = [(self.rows[i].sample, self.rows[i].item) for i in rows]
            for i, answer in zip(rows, await score_endpoint(self.leaves[key], pairs), strict=True):  # type: ignore[arg-type]
                if answer.error:
                    self.outcomes[key][i] = Outcome(None, ERROR, answer.error, answer.detail)
                else:
                    self.outcomes[key][i] = Outcome(answer.score, info={"attempts": answer.attempts})
                if progress is not None:
                    progress.update(1)

    async def run(self, judge: Any, applicable: Mapping[str, list[bool]], progress: Any = None) -> None:
        requests, slots = self._requests(applicable)
        self.needed = len(requests)

        def done(n: int, answer: Any) -> None:
            key, i = slots[n]
            self.outcomes[key][i] = outcome_from_answer(self.leaves[key], answer)
            self._count(requests[n], answer)
            if progress is not None:
                progress.update(1)

        try:
            await _gather(judge, requests, done)
        finally:
            self.notes.extend(judge.notes)

    def _count(self, request: Any, answer: Any) -> None:
        if isinstance(request, tuple):  # an embeddings pair: never cached or shared
            self.sent += 1
        elif answer.cached:
            self.cached += 1
        elif answer.shared:
            self.shared += 1
        else:
            self.sent += 1

    def _requests(self, applicable: Mapping[str, list[bool]]) -> tuple[list[Any], list[tuple[str, int]]]:
        requests: list[Any] = []
        slots: list[tuple[str, int]] = []
        for key, flags in applicable.items():
            grader = self.leaves[key]
            config = grader.config  # once per grader, not once per row
            for i, row in enumerate(self.rows):
                if not flags[i]:
                    continue
                try:
                    requests.append(_request(grader, row, config))
                    slots.append((key, i))
                except GradingError as e:
                    self.outcomes[key][i] = Outcome.failed(e)
                except RftkitError as e:  # a malformed template: this row cannot be sent
                    self.outcomes[key][i] = Outcome.failed(ErrorCategory.OTHER, f"{key}: {e}")
        return requests, slots


def _request(grader: BaseGrader, row: SampleRow, config: Mapping[str, Any]) -> Any:
    if isinstance(grader, TextSimilarityGrader):  # cosine: embeddings of both texts
        return ("embed", render(grader.input, item=row.item, sample=row.sample),
                render(grader.reference, item=row.item, sample=row.sample))  # fmt: skip
    return build_judge_request(grader, row, config)  # type: ignore[arg-type]


async def _gather(judge: Any, requests: Sequence[Any], done: Callable[[int, Any], None]) -> None:
    chat = [(n, r) for n, r in enumerate(requests) if not isinstance(r, tuple)]
    embeds = [(n, r) for n, r in enumerate(requests) if isinstance(r, tuple)]
    if chat:
        await judge.grade_many([r for _, r in chat], on_done=lambda j, a: done(chat[j][0], a))
    if not embeds:
        return
    texts = [t for _, r in embeds for t in (r[1], r[2])]
    try:
        vectors = await judge.embed_many(COSINE_MODEL, texts)
    except Exception as e:  # one translated failure for the whole batch of embeddings
        for n, _ in embeds:
            done(n, GradingError(f"embeddings failed: {e}", category=ErrorCategory.JUDGE_SERVER))
        return
    for j, (n, _) in enumerate(embeds):
        done(n, (vectors[2 * j], vectors[2 * j + 1]))


def outcome_from_answer(grader: BaseGrader, answer: Any) -> Outcome:
    """Turn a judge answer (or embeddings pair, or a failure) into the sub-grader's outcome."""
    if isinstance(answer, GradingError):
        return Outcome.failed(answer)
    if isinstance(answer, tuple):  # cosine embeddings
        from rftkit_nb.scoring.similarity import cosine

        try:
            return Outcome(cosine(*answer), info={"note": "cosine is evals-only; RFT rejects it"})
        except GradingError as e:
            return Outcome.failed(e)
    info = {"steps": answer.steps, "raw": answer.raw, "cached": answer.cached}
    if answer.error:
        return Outcome(None, ERROR, answer.error, answer.detail, info)
    if grader.type == "label_model":
        passing = answer.result in getattr(grader, "passing_labels", ())
        return Outcome(1.0 if passing else 0.0, info={**info, "label": answer.result})
    if answer.clamped:
        info["clamped"] = True
    return Outcome(float(answer.result), info=info)
