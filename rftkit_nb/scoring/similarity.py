"""Local scorers for the ``string_check`` and ``text_similarity`` graders, and how far to trust them.

Each ``text_similarity`` metric follows the recipe the evidence points to for the hosted grader.
:data:`METRIC_FIDELITY` records per metric the recipe, the published hosted scores it was checked
against and the largest difference measured; ``docs/metrics.md`` has the long form and citations.
``fuzzy_match`` and ``bleu`` reproduce every published hosted row exactly; ``gleu``, ``meteor``
and ``rouge_*`` follow the same family of recipes but no hosted score exists to check them.

BLEU, GLEU and METEOR share :func:`hosted_tokens`. ROUGE uses ``rouge_score``'s own tokenizer,
which keeps only ``[a-z0-9]`` runs after lowercasing, so non-Latin text scores 0.0 there. Text
with no tokens on either side scores 0.0 for every token metric; ``fuzzy_match`` of two empty
strings is 1.0, as rapidfuzz defines it. Nothing here downloads; libraries load on first use.

Example::

    >>> string_check("ilike", "The answer is PARIS", "paris")
    1.0
    >>> text_similarity("rouge_1", "the cat sat", "the cat sat").value
    1.0
    >>> METRIC_FIDELITY["bleu"].status, fidelity_note("bleu")
    ('exact', None)
"""

from __future__ import annotations

import difflib
import functools
import math
import operator
import re
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, Literal

from rftkit_nb.core.graders import SIMILARITY_METRICS
from rftkit_nb.errors import ConfigError, GradingError

__all__ = [
    "METRICS",
    "METRIC_FIDELITY",
    "STRING_CHECK_OPERATIONS",
    "Fidelity",
    "SimilarityScore",
    "cosine",
    "fidelity_note",
    "hosted_tokens",
    "string_check",
    "text_similarity",
]

# One source of truth for the names: the grader model's Literal (cosine last here: it is the odd one out).
METRICS: tuple[str, ...] = (*(m for m in SIMILARITY_METRICS if m != "cosine"), "cosine")
STRING_CHECK_OPERATIONS: tuple[str, ...] = ("eq", "ne", "like", "ilike")

NO_WORDNET_NOTE = "WordNet not installed: synonym matching off"
# The characters promptflow-evals' nltk_tokenize accepts for word_tokenize (Basic Latin printable
# and Latin-1); anything else, including a newline, goes to the international tokenizer.
_LATIN_1_TEXT = re.compile(r"[\u0020-\u007e\u00a0-\u00ff]*")
_ROUGE_KEYS = {f"rouge_{n}": f"rouge{n}" for n in range(1, 6)} | {"rouge_l": "rougeL"}


@dataclass(frozen=True)
class SimilarityScore:
    """One ``text_similarity`` score.

    ``value`` is in [0, 1]; ``approximate`` is True when the metric's recipe is not proven to equal
    the hosted grader (see :data:`METRIC_FIDELITY`), and ``note`` says why in one line.

    Example::

        >>> SimilarityScore(0.5, approximate=True, note="hosted scorer unconfirmed").value
        0.5
    """

    value: float
    approximate: bool
    note: str = ""


FidelityStatus = Literal["exact", "approximate", "unconfirmed"]


@dataclass(frozen=True)
class Fidelity:
    """How closely one local metric reproduces the hosted grader, and on what evidence.

    ``status`` is ``exact`` (every published hosted score reproduced to its printed digits),
    ``approximate`` (published scores exist and the recipe misses them by up to
    ``max_difference``) or ``unconfirmed`` (no published hosted score to check against).
    ``rows`` counts the published rows checked; ``max_difference`` is None when there are none.

    Example::

        >>> METRIC_FIDELITY["fuzzy_match"].rows, METRIC_FIDELITY["fuzzy_match"].max_difference
        (5, 0.0)
    """

    metric: str
    status: FidelityStatus
    implementation: str
    evidence: str
    rows: int = 0
    max_difference: float | None = None
    caveat: str = ""

    def note(self) -> str | None:
        """The one-line report note, or None for an exact metric (see :func:`fidelity_note`)."""
        if self.status == "exact":
            return None
        if self.status == "approximate":
            return (
                f"local {self.metric} differs from published hosted scores by up to "
                f"{self.max_difference:.3g} ({self.implementation})"
            )
        return f"local {self.metric} is unconfirmed: no published hosted score to check it against ({self.implementation})"


_NOTEBOOK = (
    "retkowsky/Azure-OpenAI-demos@a5dabd83937562638bd68258f18c0f13565fe282 "
    "'Observability/Azure OpenAI evaluators.ipynb'"
)
_PROMPTFLOW = "microsoft/promptflow src/promptflow-evals/promptflow/evals/evaluators"
_TOKENS = "hosted_tokens"
_NO_EVIDENCE = "no published hosted score found"

METRIC_FIDELITY: Mapping[str, Fidelity] = MappingProxyType(
    {
        "fuzzy_match": Fidelity(
            "fuzzy_match",
            "exact",
            "rapidfuzz fuzz.ratio / 100 on the raw strings",
            f"{_NOTEBOOK} output of In [15]: 5 Azure OpenAI hosted rows, 2025-06-26",
            rows=5,
            max_difference=0.0,
        ),
        "bleu": Fidelity(
            "bleu",
            "exact",
            f"nltk sentence_bleu, 4-gram, smoothing method4, case-sensitive, on {_TOKENS}",
            f"{_NOTEBOOK} output of In [17]: 5 Azure OpenAI hosted rows, 2025-06-26",
            rows=5,
            max_difference=0.0,
            caveat="sentences split by an untrained Punkt: abbreviations such as 'e.g.' may split differently",
        ),
        "gleu": Fidelity(
            "gleu",
            "unconfirmed",
            f"nltk sentence_gleu (1..4-grams), case-sensitive, on {_TOKENS}",
            f"{_NO_EVIDENCE}; recipe of {_PROMPTFLOW}/_gleu/_gleu.py, whose BLEU twin matches hosted BLEU",
        ),
        "meteor": Fidelity(
            "meteor",
            "unconfirmed",
            f"nltk single_meteor_score (0.9, 3, 0.5), Porter stems, WordNet, on {_TOKENS}",
            f"{_NO_EVIDENCE}; recipe of {_PROMPTFLOW}/_meteor/_meteor.py, whose BLEU twin matches hosted BLEU",
        ),
        **{
            metric: Fidelity(
                metric,
                "unconfirmed",
                f"rouge_score {key} F-measure, no stemming",
                f"{_NO_EVIDENCE}; recipe of {_PROMPTFLOW}/_rouge/_rouge.py, whose BLEU twin matches hosted BLEU",
            )
            for metric, key in _ROUGE_KEYS.items()
        },
        "cosine": Fidelity(
            "cosine",
            "unconfirmed",
            "cosine of the two embeddings, negative similarity clipped to 0.0",
            f"{_NO_EVIDENCE}; evals-only metric on text-embedding-3-large embeddings",
        ),
    }
)


def fidelity_note(metric: str) -> str | None:
    """The one-line report note for ``metric``, or None when it reproduces the hosted grader exactly.

    Raises :class:`ConfigError` for a name that is not an ``evaluation_metric``.

    Example::

        >>> fidelity_note("fuzzy_match") is None
        True
        >>> fidelity_note("rouge_l").startswith("local rouge_l is unconfirmed:")
        True
    """
    fidelity = METRIC_FIDELITY.get(metric)
    if fidelity is None:
        raise ConfigError(_unknown_metric_message(metric))
    return fidelity.note()


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

    ``approximate`` and ``note`` come from :data:`METRIC_FIDELITY`: exact metrics carry no note.

    Example::

        >>> score = text_similarity("fuzzy_match", "kitten", "kitten")
        >>> score.value, score.approximate
        (1.0, False)
    """
    scorer = _SCORERS.get(metric)
    if scorer is None:
        raise ConfigError(_unknown_metric_message(metric))
    value, extra = scorer(input, reference)
    note = "; ".join(part for part in (fidelity_note(metric), extra) if part)
    return SimilarityScore(
        value=min(1.0, max(0.0, float(value))),
        approximate=METRIC_FIDELITY[metric].status != "exact",
        note=note,
    )


def hosted_tokens(text: str) -> tuple[str, ...]:
    """Split ``text`` into tokens the way the hosted BLEU does (also used for GLEU and METEOR).

    ``nltk.word_tokenize`` (Punkt sentences, then NLTK's Treebank-style word tokenizer) when every
    character is in U+0020..U+007E or U+00A0..U+00FF; otherwise, newlines included, the
    mteval-v14 international tokenizer, which splits punctuation such as ``-`` and ``_`` too.

    Example::

        >>> hosted_tokens("In-network care.")
        ('In-network', 'care', '.')
        >>> hosted_tokens("In-network\\ncare.")
        ('In', '-', 'network', 'care', '.')
    """
    return _hosted_tokens(text)


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


# --- metric implementations: each returns (value, extra note or "") --------------------------


@functools.lru_cache(maxsize=4096)
def _hosted_tokens(text: str) -> tuple[str, ...]:
    # A reference is scored against many samples: tokenising it once pays for the cache.
    if _LATIN_1_TEXT.fullmatch(text):
        return tuple(_word_tokenize(text))
    return tuple(_international_tokenizer()(text).split())


def _fuzzy(input: str, reference: str) -> tuple[float, str]:
    return _fuzz_ratio()(input, reference) / 100.0, ""


def _bleu(input: str, reference: str) -> tuple[float, str]:
    hypothesis, ref = _hosted_tokens(input), _hosted_tokens(reference)
    if not hypothesis or not ref:
        return 0.0, ""
    sentence_bleu, smoothing = _bleu_parts()
    # nltk warns (UserWarning) when an n-gram order has no overlap; the score is still defined.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return float(sentence_bleu([list(ref)], list(hypothesis), smoothing_function=smoothing)), ""


def _gleu(input: str, reference: str) -> tuple[float, str]:
    hypothesis, ref = _hosted_tokens(input), _hosted_tokens(reference)
    if not hypothesis or not ref:
        return 0.0, ""
    return float(_gleu_fn()([list(ref)], list(hypothesis))), ""


def _meteor(input: str, reference: str) -> tuple[float, str]:
    meteor_score, wordnet, wordnet_note = _meteor_parts()
    hypothesis, ref = _hosted_tokens(input), _hosted_tokens(reference)
    if not hypothesis or not ref:
        return 0.0, wordnet_note
    value = meteor_score(
        list(ref), list(hypothesis), stemmer=_stemmer(), wordnet=wordnet, alpha=0.9, beta=3.0, gamma=0.5
    )
    return float(value), wordnet_note


def _rouge(key: str) -> Callable[[str, str], tuple[float, str]]:
    def score(input: str, reference: str) -> tuple[float, str]:
        return _rouge_scorer(key).score(reference, input)[key].fmeasure, ""

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


def _word_tokenize(text: str) -> list[str]:
    """``nltk.word_tokenize`` without its data download: Punkt here is untrained (no English model)."""
    sentences, words = _word_tokenizer_parts()
    return [token for sentence in sentences(text) for token in words(sentence)]


@functools.cache
def _word_tokenizer_parts() -> tuple[Callable[[str], list[str]], Callable[[str], list[str]]]:
    from nltk.tokenize import NLTKWordTokenizer
    from nltk.tokenize.punkt import PunktSentenceTokenizer

    return PunktSentenceTokenizer().tokenize, NLTKWordTokenizer().tokenize


@functools.cache
def _international_tokenizer() -> Callable[[str], str]:
    # sacrebleu's port of mteval-v14's international tokenisation; nltk's NISTTokenizer needs the
    # perluniprops download and splits less than the published hosted rows show.
    from sacrebleu.tokenizers.tokenizer_intl import TokenizerV14International

    return TokenizerV14International()


@functools.cache
def _bleu_parts() -> tuple[Callable[..., Any], Callable[..., Any]]:
    from nltk.translate.bleu_score import SmoothingFunction, sentence_bleu

    return sentence_bleu, SmoothingFunction().method4


@functools.cache
def _gleu_fn() -> Callable[..., Any]:
    from nltk.translate.gleu_score import sentence_gleu

    return sentence_gleu


@functools.cache
def _stemmer() -> Any:
    """nltk's Porter stemmer with memoised stems: stemming dominated METEOR time."""
    from nltk.stem.porter import PorterStemmer

    class _MemoStemmer:
        stem = staticmethod(functools.lru_cache(maxsize=1 << 16)(PorterStemmer().stem))

    return _MemoStemmer()


@functools.cache
def _rouge_scorer(key: str) -> Any:
    from rouge_score import rouge_scorer

    return rouge_scorer.RougeScorer([key])


class _NoSynonyms:
    """A WordNet stand-in with no synonyms, so METEOR keeps only exact and stem matches."""

    def synsets(self, *_args: object, **_kwargs: object) -> list[object]:
        return []


@functools.cache
def _meteor_parts() -> tuple[Callable[..., Any], Any, str]:
    """``single_meteor_score``, the WordNet to use and a note ("" when real WordNet is used)."""
    import nltk
    from nltk.translate.meteor_score import single_meteor_score

    # nltk warns (RuntimeWarning) about data dirs writable by others; that only means WordNet
    # is not usable here, which the note reports, so the warning must not reach the user.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            nltk.data.find("corpora/wordnet")
        except LookupError:
            return single_meteor_score, _NoSynonyms(), NO_WORDNET_NOTE
        try:
            from nltk.corpus import wordnet

            wordnet.synsets("dog")  # forces the lazy corpus to load now, inside this guard
        except (LookupError, OSError, ValueError) as error:
            reason = type(error).__name__
            return single_meteor_score, _NoSynonyms(), f"WordNet unreadable ({reason}): synonym matching off"
    return single_meteor_score, wordnet, ""
