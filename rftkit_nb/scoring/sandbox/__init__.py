"""Run OpenAI ``python`` graders locally, in worker processes, under the service's contract.

Grader source (``def grade(sample, item) -> float``) never runs in the kernel: a pool of worker processes,
started lazily and reused across calls and sources, compiles each source once and grades rows in batches.
Every row gets a :class:`PythonResult`; a failing row never stops the run.

What it protects. *Fidelity*: rows arrive as JSON-decoded dicts, as on the service; a score must be a
finite real number (bool, NaN, inf, str, None are row errors); a per-row timeout (30 s, under the service's
2 minutes), a memory cap (2 GB) and "no network" apply; errors carry the service's categories,
``python_grader_runtime_error`` (the grader raised, hung, crashed, ran out of memory, returned a bad
value) and ``python_grader_server_error`` (this machinery failed). *The kernel*: an infinite loop, a
segfault, ``os._exit`` or a 10 GB allocation costs one worker, which is killed or replaced.

What it does NOT protect: it is **not a security boundary**. Code can reach real sockets through
``_socket``, start programs, and read and write your files. Variables that look like secrets are left out
of the workers' environment, and the values of those secrets are masked (``***``) in the stdout and
tracebacks a grader returns, so an API key does not end up in a report by accident; but code that wants
them can still read them (for instance from ``/proc/<kernel pid>/environ``, which your user may read).
Only grade with code you would run yourself.

Design, and why:

* ``subprocess.Popen`` of the worker *script*, not ``multiprocessing``, never ``fork`` (the kernel holds
  threads and an event loop): nothing is pickled or re-imported from the kernel's ``__main__``; the
  worker imports the standard library only, so it is ready in ~40 ms and graders see a clean interpreter
  (``python=`` may name another one, e.g. with the service's package versions).
* Length-prefixed JSON frames: rows are JSON on the service too, and the kernel never unpickles anything
  user code produced. One frame per batch each way (a batch running past 0.1 s also sends what it has
  finished): for a trivial grader on 2 cores, per-row frames measured ~85k rows/s, per-batch ~140k.
* The row in progress is known without messages: the worker writes (row start time, rows started) to a
  16-byte shared file mapping. On a timeout the worker is killed, that row is charged, and the rest of
  its batch (with any finished rows it had not reported yet, under 0.1 s of work) goes to a fresh one.
* The parent is one ``selectors`` loop over non-blocking pipes: no threads, signals or asyncio, so it
  runs from any thread while an event loop runs elsewhere. Calls on one ``Sandbox`` take a lock.
* In the worker: ``RLIMIT_AS`` (best effort: macOS ignores it); internet sockets and name lookups raise
  ``PermissionError`` before user code is compiled (Unix sockets stay: asyncio needs ``socketpair``);
  BLAS/OpenMP pools default to 1 thread; SIGINT is ignored (an interrupt stops the call in the kernel,
  which kills the busy workers); a watchdog exits once the kernel is gone. POSIX only.

Modules: ``pool`` (the Sandbox: scheduling rows over workers, timeouts, secrets masked), ``process``
(one worker process and its frame protocol), ``worker`` (the script that runs inside a worker; standard
library only) and ``example`` (the test run of a python grader on one example row).

Example::

    >>> with Sandbox(workers=1) as box:
    ...     box.grade_many("def grade(sample, item):\\n    return 1", [({}, {})])
    [PythonResult(score=1.0, error=None, detail='', stdout='')]
"""

from __future__ import annotations

from rftkit_nb.scoring.sandbox.example import EXAMPLE_TIMEOUT, check_example
from rftkit_nb.scoring.sandbox.pool import PythonResult, Sandbox

__all__ = ["EXAMPLE_TIMEOUT", "PythonResult", "Sandbox", "check_example"]
