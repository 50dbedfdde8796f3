"""How FakeOpenAI's ``graders/run`` grades one sample, with the core layer and the standard library only.

string_check exactly; text_similarity by difflib (not each metric's own scorer, on purpose: parity reports
then show a difference); score_model through the server's judge scorer on the rendered prompt; python in
a fresh ``python -I`` subprocess (never in the process hosting the server); endpoint graders score 0.

>>> grade({"type": "string_check", "input": "{{ sample.output_text }}", "reference": "4", "operation": "eq"},
...       {"output_text": "4"}, {}, None)
1.0
"""

from __future__ import annotations

import difflib
import json
import math
import subprocess
import sys
from collections.abc import Callable, Mapping
from typing import Any

from rftkit_nb.core.templates import render

__all__ = ["grade", "json_or_none"]


def json_or_none(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return None


def grade(grader: Mapping[str, Any], sample: dict, item: Any, scorer: Callable[[dict], dict] | None) -> float:
    kind = grader["type"]
    if kind == "string_check":
        given = render(grader["input"], item=item, sample=sample)
        reference = render(grader["reference"], item=item, sample=sample)
        op = grader["operation"]
        if op in ("eq", "ne"):
            return float((given == reference) == (op == "eq"))
        return float(reference.lower() in given.lower() if op == "ilike" else reference in given)
    if kind == "text_similarity":
        given = render(grader["input"], item=item, sample=sample)
        reference = render(grader["reference"], item=item, sample=sample)
        return difflib.SequenceMatcher(None, given, reference).ratio()
    if kind == "score_model":
        messages = [{"role": m.get("role", "user"), "content": _render_content(m.get("content"), item, sample)}
                    for m in grader["input"]]  # fmt: skip
        low, high = grader.get("range") or (0.0, 1.0)
        body = {"model": grader["model"], "messages": messages,
                "response_format": {"type": "json_schema", "json_schema": {"name": "score_result", "schema": {
                    "type": "object", "properties": {"result": {"type": "number"}}}}}}  # fmt: skip
        if scorer is None:
            return float(low)
        result = float(scorer(body)["result"])
        return min(max(result, float(low)), float(high)) if math.isfinite(result) else float(low)
    if kind == "python":
        return _run_python(grader["source"], sample, item)
    return 0.0  # endpoint and other types: the fake cannot call out


def _render_content(content: Any, item: Any, sample: dict) -> Any:
    if isinstance(content, str):
        return render(content, item=item, sample=sample)
    if isinstance(content, list):
        return [_render_content(part, item, sample) for part in content]
    if isinstance(content, Mapping) and isinstance(content.get("text"), str):
        return {**content, "text": render(content["text"], item=item, sample=sample)}
    return content


_HARNESS = """
import json, sys
payload = json.load(sys.stdin)
namespace = {"__name__": "grader"}
exec(compile(payload["source"], "grader.py", "exec"), namespace)
print(json.dumps(float(namespace["grade"](payload["sample"], payload["item"]))))
"""


def _run_python(source: str, sample: dict, item: Any) -> float:
    """The python grader in a fresh isolated interpreter (never in the process that hosts the server)."""
    payload = json.dumps({"source": source, "sample": sample, "item": item})
    done = subprocess.run(  # noqa: S603 - our own interpreter, a fixed harness, the grader source as data
        [sys.executable, "-I", "-c", _HARNESS], input=payload, capture_output=True, text=True, timeout=30
    )
    if done.returncode != 0:
        raise ValueError(done.stderr.strip().splitlines()[-1] if done.stderr.strip() else "grader failed")
    return float(json.loads(done.stdout.strip().splitlines()[-1]))
