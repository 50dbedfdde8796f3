"""Moved to :mod:`rftkit_nb.scoring.judge.cache`; kept so ``from rftkit_nb.scoring.cache import JudgeCache``
still works."""

from rftkit_nb.scoring.judge.cache import JudgeCache, answer_key, default_cache_path

__all__ = ["JudgeCache", "answer_key", "default_cache_path"]
