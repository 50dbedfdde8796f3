"""Each agreement statistic against a hand computation and against the reference library called directly."""

from __future__ import annotations

import krippendorff
import numpy as np
import pytest
from scipy import stats as sps
from sklearn.metrics import cohen_kappa_score, confusion_matrix

from rftkit_nb.quality.stats import compare, infer_step

JUDGE = [0.0, 1.0, 1.0, 0.5]
HUMAN = [0.0, 1.0, 0.5, 0.5]


@pytest.fixture(scope="module")
def hand():
    return compare(JUDGE, HUMAN)


# Figures computed by hand for the 4-row case (levels 0, 0.5, 1 -> 0, 1, 2):
# kappa: sum(w*O) = 1/16, sum(w*E) = 5/16 -> 1 - 0.2; alpha: D_o = 1/16, D_e = 19.5/56.
@pytest.mark.parametrize(
    ("figure", "expected"),
    [
        pytest.param("n", 4, id="n"),
        pytest.param("step", 0.5, id="step"),
        pytest.param("exact", 0.75, id="exact-agreement"),
        pytest.param("within_one", 1.0, id="within-one-step"),
        pytest.param("base_rate", 0.5, id="base-rate"),
        pytest.param("constant_exact", 0.5, id="constant-predictor-exact"),
        pytest.param("constant_within_one", 1.0, id="constant-predictor-within-one"),
        pytest.param("kappa", 0.8, id="quadratic-kappa"),
        pytest.param("pearson", 0.5 / np.sqrt(0.6875 * 0.5), id="pearson"),
        pytest.param("spearman", 3.75 / 4.5, id="spearman"),
        pytest.param("alpha_interval", 1 - (1 / 16) / (19.5 / 56), id="krippendorff-interval"),
        pytest.param("bias", 0.125, id="mean-bias"),
    ],
)
def test_compare_when_hand_case_then_matches_hand_computation(hand, figure, expected):
    assert getattr(hand, figure) == pytest.approx(expected)


def test_compare_when_hand_case_then_confusion_matrix_is_the_hand_one(hand):
    assert hand.levels == [0.0, 0.5, 1.0]
    assert hand.confusion == [[1, 0, 0], [0, 1, 1], [0, 0, 1]]


def _random_pairs(seed: int, n: int = 60):
    rng = np.random.default_rng(seed)
    human = rng.integers(0, 5, n) / 4
    judge = np.clip(human + rng.choice([-0.25, 0, 0, 0.25, 0.5], n), 0, 1)
    return judge, human


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_compare_when_random_labels_then_equals_the_reference_libraries(seed):
    judge, human = _random_pairs(seed)
    c = compare(judge, human, step=0.25)
    jl, hl = np.rint(judge * 4).astype(int), np.rint(human * 4).astype(int)
    levels = sorted(set(jl) | set(hl))
    assert c.kappa == pytest.approx(cohen_kappa_score(hl, jl, labels=levels, weights="quadratic"))
    assert c.spearman == pytest.approx(sps.spearmanr(judge, human).statistic)
    assert c.pearson == pytest.approx(sps.pearsonr(judge, human).statistic)
    assert c.alpha_interval == pytest.approx(
        krippendorff.alpha(np.vstack([judge, human]), level_of_measurement="interval")
    )
    assert c.alpha_ordinal == pytest.approx(
        krippendorff.alpha(
            np.vstack([jl, hl]).astype(float),
            level_of_measurement="ordinal",
            value_domain=np.unique(np.concatenate([jl, hl])),
        )
    )
    assert c.confusion == confusion_matrix(hl, jl, labels=levels).tolist()
    assert c.exact == pytest.approx(np.mean(jl == hl))


def test_compare_when_bootstrapped_then_interval_is_scipys_with_the_same_seed():
    judge, human = _random_pairs(7)
    c = compare(judge, human, step=0.25, seed=11)
    ref = sps.bootstrap(
        ((judge - human),), np.mean, n_resamples=2000, method="percentile", rng=np.random.default_rng(11)
    ).confidence_interval
    assert c.bias_ci == pytest.approx((ref.low, ref.high))
    assert c.bias_ci[0] <= c.bias <= c.bias_ci[1]


def test_compare_when_judge_is_constant_then_kappa_is_not_positive_and_exact_equals_the_baseline():
    human = [1.0] * 7 + [0.0] * 3
    c = compare([1.0] * 10, human)
    assert c.exact == pytest.approx(0.7) == pytest.approx(c.constant_exact)
    assert c.base_rate == pytest.approx(0.7)
    assert c.kappa is not None
    assert c.kappa <= 0
    assert c.spearman is None
    assert c.pearson is None


def test_compare_when_one_pair_then_undefined_figures_are_none():
    c = compare([0.5], [0.5])
    assert (c.kappa, c.spearman, c.alpha_interval, c.bias_ci) == (None, None, None, None)


@pytest.mark.parametrize(
    ("values", "step"),
    [
        pytest.param([0, 1, 1, 0], 1.0, id="binary"),
        pytest.param([1, 2, 3, 5], 1.0, id="likert"),
        pytest.param([0, 0.25, 1], 0.25, id="quarters"),
        pytest.param([0.5, 0.5], 1.0, id="one-level"),
    ],
)
def test_infer_step_when_labels_given_then_smallest_gap(values, step):
    assert infer_step(values) == step


def test_require_statistics_when_a_library_is_missing_then_config_error_names_the_extra(monkeypatch):
    import importlib.util

    from rftkit_nb.errors import ConfigError
    from rftkit_nb.quality.stats import require_statistics

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "krippendorff" else real(name, *a)
    )
    with pytest.raises(ConfigError, match=r"needs krippendorff: pip install 'rftkit-nb\[quality\]'"):
        require_statistics()
