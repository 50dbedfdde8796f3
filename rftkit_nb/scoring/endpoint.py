"""The ``endpoint`` grader scored locally, as Azure's service does it: POST, read ``{"score": float}``.

Each row is one request: ``{"sample", "item", "trace_id"}`` as JSON (at most 1 MB) with the grader's
headers, answered by ``{"score": <finite number>}``. As the service describes it: a 10-minute timeout per
request, a failed request retried up to 3 times (connection errors, timeouts, HTTP 408 / 429 / 5xx; a 429's
``Retry-After`` is honoured), then the row is an error; ``rate_limit`` requests per second (the grader's, or
50, the recommended ceiling). Standard library only (``urllib`` on worker threads), so nothing is added to
the dependencies; header values never appear in a detail message.

Example::

    >>> import asyncio
    >>> from rftkit_nb.core.graders import EndpointGrader
    >>> from rftkit_nb.testing import FakeOpenAI
    >>> with FakeOpenAI() as server:
    ...     grader = EndpointGrader(name="remote", url=server.endpoint_url, headers={"api-key": "k"})
    ...     rows = [({"output_text": "4"}, {"answer": "4"}), ({"output_text": "5"}, {"answer": "4"})]
    ...     [o.score for o in asyncio.run(score_endpoint(grader, rows))]
    [1.0, 0.0]
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import math
import time
import urllib.error
import urllib.request
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from rftkit_nb.core.graders import EndpointGrader
from rftkit_nb.errors import ErrorCategory

__all__ = ["DEFAULT_RATE_LIMIT", "MAX_PAYLOAD_BYTES", "EndpointOutcome", "score_endpoint", "trace_id_of"]

MAX_PAYLOAD_BYTES = 1_000_000
DEFAULT_TIMEOUT = 600.0  # seconds: the service's 10 minutes
DEFAULT_RETRIES = 3
DEFAULT_RATE_LIMIT = 50.0  # requests per second, the recommended ceiling
_RETRIED_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
SERVER_ERROR = ErrorCategory.ENDPOINT_SERVER  # transport and HTTP failures, after the retries
ANSWER_ERROR = ErrorCategory.OTHER  # an answer that is not {"score": finite number} (no category of its own)


@dataclass(frozen=True)
class EndpointOutcome:
    """One row's result: ``score``, or ``error`` (an OpenAI error category) with a ``detail``."""

    score: float | None
    error: str | None = None
    detail: str = ""
    attempts: int = 1


class _Retry(Exception):
    def __init__(self, detail: str, wait: float | None = None) -> None:
        super().__init__(detail)
        self.wait = wait


class _Refused(Exception):
    """An HTTP error not worth retrying (the service would not retry it either)."""


class _BadAnswer(Exception):
    """The endpoint answered, but not with ``{"score": finite number}``."""


class _RateLimiter:
    """Request starts at most ``rate`` per second, spread evenly (not in bursts)."""

    def __init__(self, rate: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.interval = 1.0 / rate
        self.clock = clock
        self.next_start = 0.0
        self.lock = asyncio.Lock()

    async def wait(self, sleep: Callable[[float], Awaitable[Any]]) -> None:
        async with self.lock:
            now = self.clock()
            start = max(now, self.next_start)
            self.next_start = start + self.interval
        if start > now:
            await sleep(start - now)


def trace_id_of(sample: Mapping[str, Any], item: Mapping[str, Any]) -> str:
    """A stable trace id for a row (the service keeps one per rollout; locally a row is one rollout).

    >>> trace_id_of({"output_text": "4"}, {"answer": "4"}) == trace_id_of({"output_text": "4"}, {"answer": "4"})
    True
    """
    text = json.dumps([sample, item], sort_keys=True, default=str)
    return "rftkit-" + hashlib.sha256(text.encode()).hexdigest()[:24]


def _post(url: str, body: bytes, headers: Mapping[str, str], timeout: float) -> float:
    """One request; the score, or _Retry (worth another try), _Refused or _BadAnswer."""
    request = urllib.request.Request(url, data=body, method="POST",  # noqa: S310 - http(s): checked by EndpointGrader
                                     headers={"content-type": "application/json", **headers})  # fmt: skip
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - the grader's own URL
            raw = response.read(MAX_PAYLOAD_BYTES + 1)
    except urllib.error.HTTPError as e:
        if e.code in _RETRIED_STATUSES:
            wait = e.headers.get("retry-after") if e.headers else None
            raise _Retry(f"HTTP {e.code}", float(wait) if wait and _is_number(wait) else None) from None
        raise _Refused(f"HTTP {e.code} (not retried)") from None
    except (urllib.error.URLError, TimeoutError, ConnectionError, OSError) as e:
        reason = getattr(e, "reason", e)
        raise _Retry(f"no answer ({type(reason).__name__}: {reason})") from None
    try:
        score = json.loads(raw)["score"]
    except (ValueError, KeyError, TypeError):
        raise _BadAnswer(f'the answer is not {{"score": number}}: {raw[:120]!r}') from None
    if isinstance(score, bool) or not isinstance(score, int | float) or not math.isfinite(score):
        raise _BadAnswer(f"the answer's score is {score!r}, not a finite number")
    return float(score)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


async def _one(grader: EndpointGrader, headers: Mapping[str, str], payload: dict[str, Any], *,
               limiter: _RateLimiter, semaphore: asyncio.Semaphore, timeout: float, retries: int,
               sleep: Callable[[float], Awaitable[Any]]) -> EndpointOutcome:  # fmt: skip
    body = json.dumps(payload, ensure_ascii=False, default=str).encode()
    if len(body) > MAX_PAYLOAD_BYTES:
        return EndpointOutcome(None, ANSWER_ERROR, f"the request is {len(body):,} bytes; the service sends at "
                               f"most {MAX_PAYLOAD_BYTES:,}", 0)  # fmt: skip
    detail = ""
    for attempt in range(1, retries + 2):
        await limiter.wait(sleep)
        try:
            async with semaphore:
                score = await asyncio.to_thread(_post, grader.url, body, headers, timeout)
        except _Retry as e:
            detail = str(e)
            if attempt <= retries:
                await sleep(e.wait if e.wait is not None else min(2.0 ** (attempt - 1), 30.0))
            continue
        except (_Refused, _BadAnswer) as e:
            category = ANSWER_ERROR if isinstance(e, _BadAnswer) else SERVER_ERROR
            return EndpointOutcome(None, category, _masked(f"endpoint {grader.url}: {e}", headers), attempt)
        return EndpointOutcome(score, None, "", attempt)
    tries = retries + 1
    return EndpointOutcome(None, SERVER_ERROR, _masked(f"endpoint {grader.url} failed {tries} times "
                           f"(the service discards such a rollout): {detail}", headers), tries)  # fmt: skip


def _masked(text: str, headers: Mapping[str, str]) -> str:
    for value in sorted(headers.values(), key=len, reverse=True):
        if len(value) >= 4:
            text = text.replace(value, "***")
    return text


async def score_endpoint(
    grader: EndpointGrader,
    rows: Sequence[tuple[Mapping[str, Any], Mapping[str, Any]]],
    *,
    trace_ids: Sequence[str] | None = None,
    timeout: float = DEFAULT_TIMEOUT,
    retries: int = DEFAULT_RETRIES,
    rate_limit: float | None = None,
    concurrency: int = 16,
    sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
) -> list[EndpointOutcome]:
    """Score ``rows`` (``(sample, item)`` pairs) with ``grader``'s endpoint; one outcome per row, in order.

    ``rate_limit`` overrides the grader's (requests per second); failures are outcomes, never raised.
    """
    if trace_ids is not None and len(trace_ids) != len(rows):
        raise ValueError(f"trace_ids has {len(trace_ids)} ids for {len(rows)} rows")
    headers = {k: v.get_secret_value() for k, v in (grader.headers or {}).items()}
    limiter = _RateLimiter(float(rate_limit or grader.rate_limit or DEFAULT_RATE_LIMIT))
    semaphore = asyncio.Semaphore(concurrency)
    ids = trace_ids or [trace_id_of(s, i) for s, i in rows]
    tasks = [_one(grader, headers, {"sample": dict(s), "item": dict(i), "trace_id": t}, limiter=limiter,
                  semaphore=semaphore, timeout=timeout, retries=retries, sleep=sleep)
             for (s, i), t in zip(rows, ids, strict=True)]  # fmt: skip
    return list(await asyncio.gather(*tasks))
