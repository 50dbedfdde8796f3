"""A tiny causal language model and tokenizer, built here with no download: for offline demos and CI.

Training a real model needs a real checkpoint; trying a reward end to end does not. This builds a
2-layer Llama-shaped model from a config (random weights) and a word-level tokenizer trained on the
words you give, so a ``GRPOTrainer`` run takes seconds on a CPU. Needs the ``[trl]`` extra.

Example::

    model, tokenizer = tiny_causal_lm(["what is two plus two", "four"])
    trainer = GRPOTrainer(model=model, processing_class=tokenizer, reward_funcs=[reward], ...)
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

__all__ = ["tiny_causal_lm"]


def tiny_causal_lm(
    texts: Iterable[str], *, hidden_size: int = 16, layers: int = 2, seed: int = 0
) -> tuple[Any, Any]:
    """``(model, tokenizer)``: a ``LlamaForCausalLM`` with random weights and a word-level tokenizer over
    the words of ``texts`` (plus ``[PAD]``, ``[UNK]`` and ``[EOS]``)."""
    import torch
    from tokenizers import Tokenizer, models, pre_tokenizers, trainers
    from transformers import AutoModelForCausalLM, LlamaConfig, PreTrainedTokenizerFast

    special = {
        "pad_token": "[PAD]",
        "unk_token": "[UNK]",
        "eos_token": "[EOS]",
    }  # token names (S106: not secrets)
    words = Tokenizer(models.WordLevel(unk_token=special["unk_token"]))
    words.pre_tokenizer = pre_tokenizers.Whitespace()
    words.train_from_iterator(list(texts), trainers.WordLevelTrainer(special_tokens=list(special.values())))
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=words, **special)
    config = LlamaConfig(vocab_size=tokenizer.vocab_size, hidden_size=hidden_size, intermediate_size=2 * hidden_size,
                         num_hidden_layers=layers, num_attention_heads=2, num_key_value_heads=2,
                         max_position_embeddings=128, pad_token_id=tokenizer.pad_token_id,
                         eos_token_id=tokenizer.eos_token_id, bos_token_id=None)  # fmt: skip
    torch.manual_seed(seed)
    return AutoModelForCausalLM.from_config(config), tokenizer
