"""Local scorers for the ``string_check`` and ``text_similarity`` graders.

OpenAI documents *which* library each metric uses but not the exact scorer, tokenisation or
normalisation, so every ``text_similarity`` score computed here is marked ``approximate``. The
choices below are ours, made to be plausible and hand-checkable; change them here, in one place.

=================  ======================================================================
metric             how it is computed locally (all UNCONFIRMED against the hosted grader)
=================  ======================================================================
``fuzzy_match``    ``rapidfuzz.fuzz.ratio(input, reference) / 100`` on the raw strings: the
                   normalised Indel similarity, case-sensitive, no preprocessing.
``bleu``           ``nltk`` ``sentence_bleu`` on lowercased word/punctuation tokens, uniform
                   weights up to order ``min(4, len(input tokens))`` (so identical short texts
                   score 1.0), smoothing ``method1`` (epsilon 0.1 for empty n-gram counts).
``gleu``           ``nltk`` ``sentence_gleu`` (n-grams 1..4) on the same tokens.
``meteor``         ``nltk`` ``meteor_score`` on the same tokens (default alpha/beta/gamma,
                   Porter stemmer). Synonym matching needs WordNet; when its data is not
                   installed synonym matching is off and the note says so. Identical texts
                   score just under 1.0 by definition (the fragmentation penalty).
``rouge_1..5``,    ``rouge_score`` F-measure with ``use_stemmer=True``. Its tokenizer keeps
``rouge_l``        only ``[a-z0-9]`` runs after lowercasing, so non-Latin text scores 0.0.
``cosine``         not a text metric here: it needs embeddings; see :func:`cosine`.
=================  ======================================================================

Empty input: text with no tokens on either side scores 0.0 for every token metric (there is
nothing to match; the libraries agree). ``fuzzy_match`` of two empty strings is 1.0 and of one
empty string 0.0, as rapidfuzz defines it.

Nothing here downloads: tokenisation is a data-free regex (nltk's ``punkt`` is never used) and
WordNet is looked up on disk once, quietly. The heavy libraries are imported on first use and
every scorer object is built once and reused.

Example::

    >>> string_check("ilike", "The answer is PARIS", "paris")
    1.0
    >>> text_similarity("rouge_1", "the cat sat", "the cat sat").value
    1.0
"""

from __future__ import annotations

import difflib
import functools
import math
import operator
import re
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from rftkit_nb.core.graders import SIMILARITY_METRICS
from rftkit_nb.errors import ConfigError, GradingError

__all__ = [
    "METRICS",
    "STRING_CHECK_OPERATIONS",
    "SimilarityScore",
    "cosine",
    "string_check",
    "text_similarity",
]

# One source of truth for the names: the grader model's Literal (cosine last here: it is the odd one out).
METRICS: tuple[str, ...] = (*(m for m in SIMILARITY_METRICS if m != "cosine"), "cosine")
STRING_CHECK_OPERATIONS: tuple[str, ...] = ("eq", "ne", "like", "ilike")

NO_WORDNET_NOTE = "WordNet not installed: synonym matching off"
_UNCONFIRMED = "hosted scorer unconfirmed"
# Same pattern as nltk's wordpunct_tokenize: word runs or punctuation runs, no data files.
_TOKEN_RE = re.compile(r"\w+|[^\w\s]+")
_ROUGE_KEYS = {f"rouge_{n}": f"rouge{n}" for n in range(1, 6)} | {"rouge_l": "rougeL"}


@dataclass(frozen=True)
class SimilarityScore:
    """One ``text_similarity`` score.

    ``value`` is in [0, 1]; ``approximate`` is True when the hosted scorer may compute it
    differently, and ``note`` says why in one line.

    Example::

        >>> SimilarityScore(0.5, approximate=True, note="hosted scorer unconfirmed").value
        0.5
    """

    value: float
    approximate: bool
    note: str = ""


def string_check(operation: str, input: str, reference: str) -> float:
    """Score a ``string_check`` grader: 1.0 when the check holds, else 0.0.

    ``eq``/``ne`` compare exactly (case-sensitive); ``like`` is "``input`` contains
    ``reference``" (case-sensitive, ``%`` and ``_`` are literal characters, not wildcards);
    ``ilike`` is the same after ``str.lower()`` on both sides. An empty reference is contained
    in every input.

    Example::

        >>> string_check("like", "a red car", "red"), string_check("eq", "A", "a")
        (1.0, 0.0)
    """
    if operation == "eq":
        held = input == reference
    elif operation == "ne":
        held = input != reference
    elif operation == "like":
        held = reference in input
    elif operation == "ilike":
        held = reference.lower() in input.lower()
    else:
        raise ConfigError(_unknown_operation_message(operation))
    return 1.0 if held else 0.0


def _unknown_operation_message(operation: str) -> str:
    valid = ", ".join(STRING_CHECK_OPERATIONS)
    if operation == "neq":
        hint = "use 'ne': the API's enum spells not-equal 'ne' (the guide's 'neq' is rejected)"
    else:
        close = difflib.get_close_matches(str(operation).lower(), STRING_CHECK_OPERATIONS, n=1)
        hint = f"did you mean {close[0]!r}?" if close else f"use one of {valid}"
    return f"string_check operation {operation!r} is not supported; {hint} (valid: {valid})"


def text_similarity(metric: str, input: str, reference: str) -> SimilarityScore:
    """Score ``input`` against ``reference`` with one ``evaluation_metric`` (not ``cosine``).

    See the module docstring for how each metric is computed and why all are approximate.

    Example::

        >>> score = text_similarity("fuzzy_match", "kitten", "kitten")
        >>> score.value, score.approximate
        (1.0, True)
    """
    scorer = _SCORERS.get(metric)
    if scorer is None:
        raise ConfigError(_unknown_metric_message(metric))
    value, note = scorer(input, reference)
    return SimilarityScore(value=min(1.0, max(0.0, float(value))), approximate=True, note=note)


def _unknown_metric_message(metric: str) -> str:
    if metric == "cosine":
        return (
            "text_similarity evaluation_metric 'cosine' compares text-embedding-3-large embeddings "
            "and is evals-only (not RFT); embed both texts and call cosine(a, b) instead"
        )
    valid = ", ".join(METRICS)
    guess = str(metric).lower().replace("-", "_").replace("rougel", "rouge_l")
    close = difflib.get_close_matches(guess, METRICS, n=1, cutoff=0.7)
    hint = f"did you mean {close[0]!r}? " if close else ""
    return f"text_similarity evaluation_metric {metric!r} is not supported; {hint}use one of {valid}"


def cosine(a: Sequence[float], b: Sequence[float]) -> float:
    """Cosine similarity of two embeddings, clipped to [0, 1] to be a grader score.

    Negative similarity scores 0.0 (UNCONFIRMED what the hosted evals grader does with it);
    a zero vector scores 0.0. Raises :class:`GradingError` when the vectors are empty, differ
    in length or hold a non-finite number.

    Example::

        >>> round(cosine([1.0, 0.0], [1.0, 1.0]), 4)
        0.7071
    """
    if len(a) != len(b) or not a:
        raise GradingError(
            f"cosine needs two non-empty embeddings of equal length, got {len(a)} and {len(b)}; "
            "embed input and reference with the same model"
        )
    norm_a, norm_b = math.hypot(*a), math.hypot(*b)
    if not (math.isfinite(norm_a) and math.isfinite(norm_b)):
        raise GradingError("cosine got an embedding holding NaN or infinity; check the embedding model")
    if norm_a == 0.0 or norm_b == 0.0:
        return 0.0
    similarity = sum(map(operator.mul, a, b)) / (norm_a * norm_b)
    return min(1.0, max(0.0, similarity))


# --- metric implementations: each returns (value, note) ------------------------------------


def _tokens(text: str) -> list[str]:
    return _TOKEN_RE.findall(text.lower())


def _fuzzy(input: str, reference: str) -> tuple[float, str]:
    return _fuzz_ratio()(input, reference) / 100.0, f"rapidfuzz fuzz.ratio; {_UNCONFIRMED}"


def _bleu(input: str, reference: str) -> tuple[float, str]:
    note = f"nltk sentence_bleu, lowercased tokens, smoothing method1; {_UNCONFIRMED}"
    hypothesis, ref = _tokens(input), _tokens(reference)
    if not hypothesis or not ref:
        return 0.0, note
    sentence_bleu, smoothing = _bleu_parts()
    order = min(4, len(hypothesis))
    weights = (1.0 / order,) * order
    return float(sentence_bleu([ref], hypothesis, weights, smoothing_function=smoothing)), note


def _gleu(input: str, reference: str) -> tuple[float, str]:
    note = f"nltk sentence_gleu, lowercased tokens; {_UNCONFIRMED}"
    hypothesis, ref = _tokens(input), _tokens(reference)
    if not hypothesis or not ref:
        return 0.0, note
    return float(_gleu_fn()([ref], hypothesis)), note


def _meteor(input: str, reference: str) -> tuple[float, str]:
    meteor_score, wordnet, wordnet_note = _meteor_parts()
    note = f"nltk meteor_score; {wordnet_note or _UNCONFIRMED}"
    hypothesis, ref = _tokens(input), _tokens(reference)
    if not hypothesis or not ref:
        return 0.0, note
    return float(meteor_score([ref], hypothesis, stemmer=_stemmer(), wordnet=wordnet)), note


def _rouge(key: str) -> Callable[[str, str], tuple[float, str]]:
    note = f"rouge_score F-measure, stemming on; {_UNCONFIRMED}"

    def score(input: str, reference: str) -> tuple[float, str]:
        return _rouge_scorer(key).score(reference, input)[key].fmeasure, note

    return score


_SCORERS: dict[str, Callable[[str, str], tuple[float, str]]] = {
    "fuzzy_match": _fuzzy,
    "bleu": _bleu,
    "gleu": _gleu,
    "meteor": _meteor,
    **{metric: _rouge(key) for metric, key in _ROUGE_KEYS.items()},
}


# --- cached library objects: imported and built once, on first use -------------------------


@functools.cache
def _fuzz_ratio() -> Callable[[str, str], float]:
    from rapidfuzz import fuzz

    return fuzz.ratio


@functools.cache
def _bleu_parts() -> tuple[Callable[..., Any], Callable[..., Any]]:
    from nltk.translate.bleu_score import SmoothingFunction, sentence_bleu

    return sentence_bleu, SmoothingFunction().method1


@functools.cache
def _gleu_fn() -> Callable[..., Any]:
    from nltk.translate.gleu_score import sentence_gleu

    return sentence_gleu


@functools.cache
def _stemmer() -> Any:
    """nltk's Porter stemmer with memoised stems: stemming dominated ROUGE and METEOR time."""
    from nltk.stem.porter import PorterStemmer

    class _MemoStemmer:
        stem = staticmethod(functools.lru_cache(maxsize=1 << 16)(PorterStemmer().stem))

    return _MemoStemmer()


@functools.cache
def _rouge_scorer(key: str) -> Any:
    # One scorer per metric, built once. The tokenizer is rouge_score's own tokenize function
    # (what use_stemmer=True runs) fed the memoised stemmer, so scores are unchanged.
    from rouge_score import rouge_scorer, tokenize, tokenizers

    class _Tokenizer(tokenizers.Tokenizer):
        def tokenize(self, text: str) -> list[str]:
            return tokenize.tokenize(text, _stemmer())

    return rouge_scorer.RougeScorer([key], tokenizer=_Tokenizer())


class _NoSynonyms:
    """A WordNet stand-in with no synonyms, so METEOR keeps only exact and stem matches."""

    def synsets(self, *_args: object, **_kwargs: object) -> list[object]:
        return []


@functools.cache
def _meteor_parts() -> tuple[Callable[..., Any], Any, str]:
    """``meteor_score``, the WordNet to use and a note ("" when real WordNet is used)."""
    import nltk
    from nltk.translate.meteor_score import meteor_score

    # nltk warns (RuntimeWarning) about data dirs writable by others; that only means WordNet
    # is not usable here, which the note reports, so the warning must not reach the user.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            nltk.data.find("corpora/wordnet")
        except LookupError:
            return meteor_score, _NoSynonyms(), NO_WORDNET_NOTE
        try:
            from nltk.corpus import wordnet

            wordnet.synsets("dog")  # forces the lazy corpus to load now, inside this guard
        except (LookupError, OSError, ValueError) as error:
            reason = type(error).__name__
            return meteor_score, _NoSynonyms(), f"WordNet unreadable ({reason}): synonym matching off"
    return meteor_score, wordnet, ""
