"""The judge behind score_model / label_model graders: Chat Completions through the official openai SDK.

``JudgeRequest`` is one rendered grader call; ``Judge.grade_many`` sends many of them through one shared
``AsyncOpenAI`` (or ``AsyncAzureOpenAI``) client under a semaphore, sends identical requests once, answers
repeated ones from a :class:`~rftkit_nb.scoring.judge.cache.JudgeCache` (keyed by
:func:`~rftkit_nb.scoring.judge.cache.answer_key`, the one definition of the key), and turns every
failure into a ``JudgeAnswer`` carrying OpenAI's error category instead of raising. The SDK does the retrying (it honours
``retry-after``); responses are read as bytes and parsed by :mod:`~rftkit_nb.scoring.judge.request`,
which skips the SDK's pydantic models and about a third of its per-request CPU. How the client is built
(a client you pass, ``base_url`` / ``api_key``, or the environment) is in
:mod:`~rftkit_nb.scoring.judge.client`.

Example::

    >>> import asyncio
    >>> from rftkit_nb.testing import FakeOpenAI
    >>> request = JudgeRequest("gpt-4o-mini", [{"role": "user", "content": "Grade it.\\nSCORE: 0.7"}])
    >>> async def main(url):
    ...     async with Judge(base_url=url, api_key="sk-demo", cache=None) as judge:
    ...         return await judge.grade(request)
    >>> with FakeOpenAI() as server:
    ...     asyncio.run(main(server.base_url)).result
    0.7
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from rftkit_nb.errors import ConfigError, JudgeError
from rftkit_nb.scoring.judge.cache import CacheSpec, JudgeCache, answer_key, default_cache_path
from rftkit_nb.scoring.judge.client import (
    ENV_HINT,
    client_factory,
    endpoint_of,
    import_openai,
    translate_openai_error,
    withheld_key_note,
)
from rftkit_nb.scoring.judge.request import (
    JudgeAnswer,
    JudgeRequest,
    parse_completion,
    parse_content,
)

__all__ = ["Judge", "JudgeAnswer", "JudgeCache", "JudgeRequest", "parse_content", "translate_openai_error"]

_WRITE_BATCH = 128  # successes buffered before one cache transaction
_EMBED_BATCH = 256  # texts per embeddings request


def _resolve_cache(cache: CacheSpec) -> Callable[[], JudgeCache | None]:
    if isinstance(cache, JudgeCache) or cache is False:
        # Not `cache or None`: an empty JudgeCache is falsy.
        given = cache if isinstance(cache, JudgeCache) else None
        return lambda: given
    if cache is True:
        return lambda: JudgeCache(default_cache_path())
    if cache is None or isinstance(cache, (str, os.PathLike)):
        return lambda: JudgeCache(cache)
    raise ConfigError(f"Judge(cache=...) got {type(cache).__name__}; pass True (default file), False (off), "
                      "None (in memory), a path or a JudgeCache")  # fmt: skip


@dataclass
class _LoopState:
    """Everything bound to one event loop: the client's connections, the semaphore, in-flight calls."""

    loop: asyncio.AbstractEventLoop | None
    client: Any
    semaphore: asyncio.Semaphore
    inflight: dict[str, asyncio.Future[JudgeAnswer]] = field(default_factory=dict)


def _from_cache(hit: Any) -> JudgeAnswer | None:
    if not isinstance(hit, dict) or "result" not in hit:
        return None
    return JudgeAnswer(hit["result"], hit.get("steps") or [], None, hit.get("detail", ""), cached=True,
                       raw=hit.get("raw", ""), clamped=bool(hit.get("clamped")))  # fmt: skip


async def _gather_or_cancel(tasks: list[asyncio.Future[Any]]) -> list[Any]:
    try:
        return await asyncio.gather(*tasks)
    except BaseException:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise


class Judge:
    """Grades ``JudgeRequest``s through one shared async openai client (see the module docstring).

    ``cache``: True = the default file (``default_cache_path()``), a path = that file, None = in memory
    for this judge, False = off, or a ``JudgeCache`` you own. Call ``aclose()`` (or use ``async with``)
    before the event loop ends; the judge reconnects by itself if used again afterwards.

    >>> judge = Judge(base_url="http://127.0.0.1:9/v1", api_key="sk-demo", cache=False)
    >>> judge
    Judge(endpoint='http://127.0.0.1:9/v1', concurrency=32, timeout=60.0, max_retries=4, cache=None)
    """

    def __init__(
        self,
        client: Any = None,
        *,
        model_override: str | None = None,
        base_url: str | None = None,
        api_key: str | None = None,
        concurrency: int = 32,
        timeout: float = 60.0,
        max_retries: int = 4,
        cache: CacheSpec = True,
    ) -> None:
        if concurrency < 1 or timeout <= 0 or max_retries < 0:
            raise ConfigError(f"Judge needs concurrency >= 1, timeout > 0 and max_retries >= 0; got "
                              f"{concurrency}, {timeout} and {max_retries}")  # fmt: skip
        self._endpoint = ""  # set below; repr() must work even if configuration fails
        self.model_override = model_override
        self.concurrency = concurrency
        self.timeout = float(timeout)
        self.max_retries = max_retries
        self._factory = client_factory(client, base_url, api_key)
        self._client_note = withheld_key_note(client, base_url, api_key)
        first = self._new_client()
        self._endpoint = endpoint_of(first)
        credentials = (getattr(first, "api_key", None), getattr(first, "_azure_ad_token", None))
        self._secrets = tuple(c for c in credentials if isinstance(c, str) and len(c) >= 8)
        self._state: _LoopState | None = _LoopState(None, first, asyncio.Semaphore(concurrency))
        self._options = {"timeout": self.timeout, "max_retries": max_retries}
        self._open_cache = _resolve_cache(cache)
        self._owns_cache = not isinstance(cache, JudgeCache)
        self._cache = self._open_cache()

    @classmethod
    def from_env(cls, **kw: Any) -> Judge | None:
        """A judge configured from ``kw`` and the environment, or None when nothing is configured.

        >>> Judge.from_env(base_url="http://127.0.0.1:9/v1", cache=False).concurrency
        32
        """
        names = ("OPENAI_API_KEY", "OPENAI_BASE_URL", "AZURE_OPENAI_ENDPOINT")
        given = any(kw.get(name) is not None for name in ("client", "base_url", "api_key"))
        return cls(**kw) if given or any(os.environ.get(name) for name in names) else None

    def __repr__(self) -> str:
        override = f", model_override={self.model_override!r}" if self.model_override else ""
        return (f"Judge(endpoint={self._endpoint!r}{override}, concurrency={self.concurrency}, "
                f"timeout={self.timeout}, max_retries={self.max_retries}, cache={self._cache!r})")  # fmt: skip

    @property
    def notes(self) -> list[str]:
        """What to know about this judge: a key it did not send, cache problems it worked around."""
        cache_notes = list(self._cache.notes) if self._cache is not None else []
        return ([self._client_note] if self._client_note else []) + cache_notes

    def _new_client(self) -> Any:
        openai = import_openai()
        try:
            return self._factory()
        except (openai.OpenAIError, ValueError) as exc:
            raise ConfigError(f"cannot configure the judge client: {exc}; {ENV_HINT}") from exc

    def _bind(self) -> _LoopState:
        """The state for the running loop; a new loop gets its own client (connections are per loop)."""
        loop = asyncio.get_running_loop()
        state = self._state
        if state is not None and state.loop is None:
            state.loop = loop
        elif state is None or state.loop is not loop:
            state = self._state = _LoopState(loop, self._new_client(), asyncio.Semaphore(self.concurrency))
        return state

    def _ensure_cache(self) -> JudgeCache | None:
        if self._cache is None and self._owns_cache:
            self._cache = self._open_cache()
        return self._cache

    def _translate(self, exc: BaseException) -> JudgeError | None:
        return translate_openai_error(
            exc,
            endpoint=self._endpoint,
            timeout=self.timeout,
            retries=self.max_retries,
            secrets=self._secrets,
        )

    # -- grading ---------------------------------------------------------------------------------------
    async def grade(self, request: JudgeRequest) -> JudgeAnswer:
        """Grade one request (cache, dedup and retries as in ``grade_many``)."""
        return (await self.grade_many([request]))[0]

    async def grade_many(
        self,
        requests: Sequence[JudgeRequest],
        *,
        on_done: Callable[[int, JudgeAnswer], object] | None = None,
    ) -> list[JudgeAnswer]:
        """Grade ``requests`` concurrently; answers come back in order, ``on_done(i, answer)`` as each ends.

        Cached answers are looked up first in one batch; identical requests are sent once; successes are
        written back in batches. Failures are answers with ``error`` set, never exceptions.
        """
        cache = self._ensure_cache()
        work = [self._with_override(request) for request in requests]
        keys = [answer_key(self._endpoint, request) for request in work]
        hits = cache.get_many(keys) if cache is not None else {}
        answers: list[JudgeAnswer | None] = [None] * len(work)
        pending: dict[str, list[int]] = {}
        for index, key in enumerate(keys):
            answer = _from_cache(hits.get(key))
            if answer is None:
                pending.setdefault(key, []).append(index)
                continue
            answers[index] = answer
            if on_done is not None:
                on_done(index, answer)
        writes: list[tuple[str, dict]] = []
        if not pending:  # all answered from the cache: no client, no connections
            return answers  # type: ignore[return-value]
        state = self._bind()

        async def run(key: str, indexes: list[int]) -> None:
            answer = await self._once(state, work[indexes[0]], key)
            if answer.error is None and cache is not None and not answer.shared:
                writes.append((key, answer._cache_value()))
                if len(writes) >= _WRITE_BATCH:
                    cache.put_many(writes)
                    writes.clear()
            for n, index in enumerate(indexes):
                # Repeats of a request in one batch are answered by its one call: shared, not sent.
                answers[index] = answer if n == 0 else dataclasses.replace(answer, shared=True)
                if on_done is not None:
                    on_done(index, answers[index])

        try:
            await _gather_or_cancel([asyncio.ensure_future(run(k, ix)) for k, ix in pending.items()])
        finally:
            if cache is not None and writes:
                cache.put_many(writes)
        return answers  # type: ignore[return-value]  # every slot is filled once gather returns

    def _with_override(self, request: JudgeRequest) -> JudgeRequest:
        if self.model_override is None or request.model == self.model_override:
            return request
        return dataclasses.replace(request, model=self.model_override)

    async def _once(self, state: _LoopState, request: JudgeRequest, key: str) -> JudgeAnswer:
        """Send ``request`` unless an identical one is already on its way; then share that answer."""
        running = state.inflight.get(key)
        if running is not None:
            return dataclasses.replace(await asyncio.shield(running), shared=True)
        future: asyncio.Future[JudgeAnswer] = asyncio.get_running_loop().create_future()
        state.inflight[key] = future
        try:
            answer = await self._call(state, request)
        except asyncio.CancelledError:
            future.cancel()
            raise
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # marks it retrieved: our caller re-raises it
            raise
        finally:
            del state.inflight[key]
        future.set_result(answer)
        return answer

    async def _call(self, state: _LoopState, request: JudgeRequest) -> JudgeAnswer:
        async with state.semaphore:
            try:
                # Raw bytes, parsed here: the SDK's pydantic ChatCompletion costs more CPU than the call.
                body = await state.client.post(
                    "/chat/completions", body=request._payload, cast_to=bytes, options=self._options
                )
            except Exception as exc:
                error = self._translate(exc)
                if error is None:
                    raise
                return JudgeAnswer(None, [], error.category, str(error))
        return parse_completion(body, request)

    async def embed_many(self, model: str, texts: Sequence[str]) -> list[list[float]]:
        """Embedding vectors for ``texts`` (in order), 256 texts per request; raises ``JudgeError``."""
        state = self._bind()

        async def embed(chunk: list[str]) -> list[list[float]]:
            async with state.semaphore:
                try:
                    body = await state.client.post(
                        "/embeddings",
                        body={"model": model, "input": chunk, "encoding_format": "float"},
                        cast_to=bytes,
                        options=self._options,
                    )
                except Exception as exc:
                    error = self._translate(exc)
                    if error is None:
                        raise
                    raise error from exc
            try:
                data = sorted(json.loads(body)["data"], key=lambda item: item["index"])
                vectors = [[float(x) for x in item["embedding"]] for item in data]
            except (ValueError, KeyError, TypeError) as exc:
                raise JudgeError(
                    f"the embeddings answer from {self._endpoint} is not readable: {exc}"
                ) from exc
            if len(vectors) != len(chunk):
                raise JudgeError(
                    f"{self._endpoint} returned {len(vectors)} embeddings for {len(chunk)} texts"
                )
            return vectors

        chunks = [list(texts[i : i + _EMBED_BATCH]) for i in range(0, len(texts), _EMBED_BATCH)]
        parts = await _gather_or_cancel([asyncio.ensure_future(embed(chunk)) for chunk in chunks])
        return [vector for part in parts for vector in part]

    # -- lifecycle -------------------------------------------------------------------------------------
    async def aclose(self) -> None:
        """Close the connections and the cache this judge opened (not a client or cache you passed in)."""
        state, self._state = self._state, None
        running = asyncio.get_running_loop()
        if state is not None and state.loop in (None, running):
            await state.client.close()
        if self._cache is not None and self._owns_cache:
            self._cache.close()
            self._cache = None

    async def __aenter__(self) -> Judge:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()
