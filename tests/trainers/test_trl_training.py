"""A real TRL run: GRPOTrainer trains a tiny model for two steps on the CPU with the grader as its reward.

Nothing is downloaded: the model is built from a config, the tokenizer is trained here with the
``tokenizers`` library, and the judge is the loopback server. The reward is the quickstart's shape: a
python formatting grader, a string check and two judged rubrics masked by the row's cluster. Needs the
``[trl]`` extra (CI installs it; torch from the CPU wheel first).
"""

from __future__ import annotations

import pytest

from rftkit_nb.trainers import to_trl
from rftkit_nb.trainers.tiny import tiny_causal_lm

from .conftest import ROWS

pytestmark = [
    pytest.mark.slow,
    # TRL 1.16 still calls transformers' gradient_checkpointing* names, which transformers 5 deprecates.
    pytest.mark.filterwarnings("ignore:`.*gradient_checkpointing.*` is deprecated:FutureWarning"),
]


@pytest.fixture
def recorded(design, judge):
    """The reward, wrapped to record what TRL passes it and what it returns."""
    reward = to_trl(design, judge=judge)
    calls = []
    inner = reward.scorer.score_rows

    async def spy(items, outputs):
        results = await inner(items, outputs)
        calls.append((items, outputs, [r.value for r in results]))
        return results

    reward.scorer.score_rows = spy
    return reward, calls


def test_grpo_when_trained_two_steps_with_to_trl_then_reward_sees_columns_and_logs_each_sub_grader(
    recorded, tmp_path
):
    from datasets import Dataset
    from trl import GRPOConfig, GRPOTrainer

    reward, calls = recorded
    order = [ROWS[0], ROWS[2], ROWS[1], ROWS[3]]  # math, essay, math, essay: every batch has both clusters
    columns = {k: [r[k] for r in order] for k in ("cluster", "question", "answer")}
    dataset = Dataset.from_dict({"prompt": columns["question"], **columns})
    model, tokenizer = tiny_causal_lm([r["question"] + " " + r["output_text"] for r in ROWS])
    args = GRPOConfig(output_dir=str(tmp_path / "out"), per_device_train_batch_size=4, num_generations=2,
                      max_completion_length=6, max_steps=2, logging_steps=1, report_to="none", use_cpu=True,
                      save_strategy="no", shuffle_dataset=False, seed=0)  # fmt: skip
    trainer = GRPOTrainer(model=model, processing_class=tokenizer, reward_funcs=[reward], args=args,
                          train_dataset=dataset, callbacks=[reward.callback()])  # fmt: skip
    trainer.train()

    assert reward.calls == 2
    assert len(calls) == 2
    for items, outputs, values in calls:
        assert len(values) == len(outputs) == 4  # one value per completion
        assert all(isinstance(v, float) for v in values)
        assert {"question", "answer", "cluster"} <= set(items[0])  # the dataset's columns became the item
        assert "prompt" not in items[0]
    logged = [entry for entry in trainer.state.log_history if "reward" in entry]
    assert len(logged) == 2
    for entry in logged:
        assert f"rewards/{reward.__name__}/mean" in entry
        for key in ("fmt", "accuracy", "clarity", "mentions", "applies_accuracy", "applies_clarity"):
            assert f"{key}/mean" in entry, f"{key} missing from {sorted(entry)}"
    assert reward.scorer.sandbox is None  # the callback closed the pool when training ended
    assert reward.scorer.pool.started == 1  # one warm pool for the whole run
