"""Python graders in worker processes: real processes, real crashes, real timeouts."""

from __future__ import annotations

import asyncio
import gc
import os
import signal
import subprocess
import sys
import textwrap
import threading

import pytest

from rftkit_nb.errors import ConfigError, ErrorCategory
from rftkit_nb.scoring.sandbox import PythonResult, Sandbox

RUNTIME_ERROR, SERVER_ERROR = ErrorCategory.PYTHON_RUNTIME, ErrorCategory.PYTHON_SERVER

EXACT_MATCH = """
def grade(sample, item):
    return 1.0 if sample["output_text"] == item["answer"] else 0.0
"""


def grader(body: str, prelude: str = "") -> str:
    """A source whose grade(sample, item) runs ``body`` (which may use ``item["i"]``)."""
    return (
        textwrap.dedent(prelude)
        + "\ndef grade(sample, item):\n"
        + textwrap.indent(textwrap.dedent(body), "    ")
    )


def rows(n: int) -> list[tuple[dict, dict]]:
    return [({"output_text": "x"}, {"i": i}) for i in range(n)]


@pytest.fixture(scope="module")
def box():
    with Sandbox(workers=2, timeout=20, memory_mb=1024) as sandbox:
        yield sandbox


def reaped(pid: int) -> bool:
    try:
        os.kill(pid, 0)  # succeeds for a live process and for an unreaped zombie
    except ProcessLookupError:
        return True
    return False


def test_grade_many_when_grader_is_valid_scores_every_row(box):
    pairs = [({"output_text": t}, {"answer": a}) for t, a in [("4", "4"), ("5", "4"), ("", ""), ("é", "é")]]

    results = box.grade_many(EXACT_MATCH, pairs)

    assert results == [PythonResult(1.0), PythonResult(0.0), PythonResult(1.0), PythonResult(1.0)]


def test_grade_many_when_given_2000_rows_returns_them_in_order(box):
    results = box.grade_many(grader("return item['i'] / 10"), rows(2000))

    assert [r.score for r in results] == [i / 10 for i in range(2000)]
    assert {r.error for r in results} == {None}


def test_grade_many_when_rows_are_nested_json_passes_them_as_decoded_dicts(box):
    sample = {"output_text": "ok", "output_json": {"a": [1, 2.5, None, True, "ü"]}, "output_tools": []}
    item = {"nested": {"tuple": (1, 2)}}
    check = (
        "return float(sample['output_json']['a'] == [1, 2.5, None, True, 'ü']"
        " and item['nested']['tuple'] == [1, 2])"
    )

    assert box.grade_many(grader(check), [(sample, item)])[0].score == 1.0


def test_grade_many_when_grader_prints_captures_stdout_and_stderr_per_row(box):
    source = grader(
        """
        print("row", item["i"])
        print("warn", file=sys.stderr)
        return 1
        """,
        prelude="import sys",
    )

    results = box.grade_many(source, rows(3))

    assert [r.stdout for r in results] == [f"row {i}\nwarn\n" for i in range(3)]


def test_grade_many_when_grader_prints_too_much_truncates_stdout(box):
    results = box.grade_many(grader("print('x' * 50_000)\nreturn 1"), rows(1))

    assert results[0].score == 1.0
    assert results[0].stdout.startswith("x" * 10_000)
    assert "40001 more characters of output dropped" in results[0].stdout
    assert len(results[0].stdout) < 10_100


def test_grade_many_when_grader_raises_reports_runtime_error_with_traceback(box):
    source = grader(
        """
        if item["i"] == 1:
            print("about to fail")
            raise ValueError("bad row")
        return 0.5
        """
    )

    ok, failed, ok_again = box.grade_many(source, rows(3))

    assert ok == ok_again == PythonResult(0.5)
    assert failed.score is None
    assert failed.error == RUNTIME_ERROR
    assert failed.detail.splitlines()[0] == "ValueError: bad row"
    assert 'File "<grader>", line 6, in grade' in failed.detail
    assert 'raise ValueError("bad row")' in failed.detail
    assert "_sandbox_worker" not in failed.detail
    assert failed.stdout == "about to fail\n"


def test_grade_many_when_grader_calls_sys_exit_reports_runtime_error(box):
    result = box.grade_many(grader("sys.exit(3)", prelude="import sys"), rows(1))[0]

    assert result.error == RUNTIME_ERROR
    assert result.detail.startswith("SystemExit: 3")


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        pytest.param("float('nan')", "nan", id="nan"),
        pytest.param("float('inf')", "inf", id="inf"),
        pytest.param("-float('inf')", "-inf", id="minus-inf"),
        pytest.param("'0.5'", "str '0.5'", id="str"),
        pytest.param("None", "NoneType None", id="none"),
        pytest.param("True", "bool True", id="bool"),
        pytest.param("[1.0]", "list [1.0]", id="list"),
        pytest.param("10 ** 400", "not convertible to float", id="int-too-large"),
        pytest.param("__import__('numpy').bool_(True)", "numpy.bool", id="numpy-bool"),
        pytest.param("__import__('decimal').Decimal('0.5')", "decimal.Decimal", id="decimal"),
    ],
)
def test_grade_many_when_grade_returns_a_non_float_reports_runtime_error(box, expression, expected):
    result = box.grade_many(grader(f"return {expression}"), rows(1))[0]

    assert result.score is None
    assert result.error == RUNTIME_ERROR
    assert expected in result.detail
    assert "finite float" in result.detail or "not convertible" in result.detail


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        pytest.param("1", 1.0, id="int"),
        pytest.param("-3", -3.0, id="negative-int"),
        pytest.param("2.5", 2.5, id="float-outside-0-1"),
        pytest.param("__import__('numpy').float32(0.5)", 0.5, id="numpy-float32"),
        pytest.param("__import__('numpy').int64(2)", 2.0, id="numpy-int64"),
        pytest.param("__import__('fractions').Fraction(1, 4)", 0.25, id="fraction"),
    ],
)
def test_grade_many_when_grade_returns_a_real_number_scores_it_as_float(box, expression, expected):
    result = box.grade_many(grader(f"return {expression}"), rows(1))[0]

    assert result == PythonResult(expected)
    assert type(result.score) is float


def test_grade_many_when_a_row_loops_forever_times_out_that_row_and_scores_the_others():
    # one worker and batches of three: row 1 hangs mid-batch, so row 2 must go to a fresh worker
    source = grader("while item['i'] == 1:\n    pass\nreturn 1")
    with Sandbox(workers=1, timeout=1, batch_size=3) as box:
        results = box.grade_many(source, rows(6))
        after = box.grade_many(EXACT_MATCH, [({"output_text": "a"}, {"answer": "a"})])

    assert results[1] == PythonResult(None, RUNTIME_ERROR, "timed out after 1.0 s", "")
    assert [r.score for i, r in enumerate(results) if i != 1] == [1.0] * 5
    assert after == [PythonResult(1.0)]


def test_grade_many_when_top_level_code_hangs_fails_every_row_once():
    source = "while True:\n    pass\n\ndef grade(sample, item):\n    return 1\n"
    with Sandbox(workers=2, timeout=1) as box:
        results = box.grade_many(source, rows(40))

    assert {r.error for r in results} == {RUNTIME_ERROR}
    assert {r.detail for r in results} == {
        "timed out after 1.0 s, while running the grader source's top-level code"
    }


def test_grade_many_when_a_row_allocates_10_gb_reports_memory_error_and_scores_the_others(box):
    source = grader("if item['i'] == 1:\n    b = bytearray(10 * 1024**3)\nreturn 1")

    results = box.grade_many(source, rows(3))

    assert results[1].error == RUNTIME_ERROR
    assert results[1].detail.startswith("MemoryError")
    assert [results[0].score, results[2].score] == [1.0, 1.0]


@pytest.mark.parametrize(
    "body",
    [
        pytest.param("socket.socket()", id="socket"),
        pytest.param("socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)", id="udp6"),
        pytest.param("socket.create_connection(('127.0.0.1', 9))", id="create-connection"),
        pytest.param("socket.getaddrinfo('example.com', 80)", id="dns"),
        pytest.param("urllib.request.urlopen('http://127.0.0.1:9')", id="urlopen"),
    ],
)
def test_grade_many_when_grader_opens_the_network_reports_network_disabled(box, body):
    source = grader(body + "\nreturn 1", prelude="import socket, urllib.request")

    result = box.grade_many(source, rows(1))[0]

    assert result.error == RUNTIME_ERROR
    assert "network access is disabled in python graders" in result.detail


def test_grade_many_when_grader_runs_asyncio_keeps_local_socketpairs_working(box):
    source = grader("return asyncio.run(asyncio.sleep(0, result=0.25))", prelude="import asyncio")

    assert box.grade_many(source, rows(1)) == [PythonResult(0.25)]


def test_grade_many_when_network_is_not_blocked_lets_grader_open_sockets():
    source = grader("socket.socket().close()\nreturn 1", prelude="import socket")
    with Sandbox(workers=1, block_network=False) as box:
        assert box.grade_many(source, rows(1)) == [PythonResult(1.0)]


@pytest.mark.parametrize(
    ("prelude", "body", "expected"),
    [
        pytest.param("import os", "os._exit(1)", "the grader process died (exit code 1)", id="os-exit"),
        pytest.param("import ctypes", "ctypes.string_at(0)", "killed by SIGSEGV", id="segfault"),
        pytest.param(
            "import os, signal", "os.kill(os.getpid(), signal.SIGKILL)", "killed by SIGKILL", id="kill"
        ),
    ],
)
def test_grade_many_when_the_worker_dies_charges_that_row_and_replaces_the_worker(prelude, body, expected):
    # one worker, batches of four: row 5 dies mid-batch; rows 4, 6 and 7 must still be scored
    source = grader(f"if item['i'] == 5:\n    {body}\nreturn 1", prelude=prelude)
    with Sandbox(workers=1, batch_size=4) as box:
        box.grade_many(source, rows(1))
        (first_pid,) = box.worker_pids
        results = box.grade_many(source, rows(8))
        (second_pid,) = box.worker_pids

    assert results[5].error == RUNTIME_ERROR
    assert expected in results[5].detail
    assert [r.score for i, r in enumerate(results) if i != 5] == [1.0] * 7
    assert first_pid != second_pid
    assert reaped(first_pid)


def test_grade_many_when_slow_rows_precede_a_crash_grades_each_of_them_once(tmp_path):
    log = tmp_path / "calls.txt"
    source = grader(
        f"""
        with open({str(log)!r}, "a") as f:
            f.write(f"{{item['i']}}\\n")
        time.sleep(0.15)
        if item["i"] == 2:
            os._exit(1)
        return 1
        """,
        prelude="import os, time",
    )
    with Sandbox(workers=1, batch_size=3) as box:  # rows 0-2 share a batch; row 2 kills the worker
        results = box.grade_many(source, rows(5))

    assert [r.score for r in results] == [1.0, 1.0, None, 1.0, 1.0]
    assert sorted(log.read_text().split()) == ["0", "1", "2", "3", "4"]


def test_grade_many_when_interrupted_stops_the_busy_workers_and_stays_usable():
    source = grader("time.sleep(10)\nreturn 1", prelude="import time")
    with Sandbox(workers=2) as box:
        timer = threading.Timer(0.5, os.kill, (os.getpid(), signal.SIGINT))
        timer.start()
        with pytest.raises(KeyboardInterrupt):
            box.grade_many(source, rows(4))
        timer.join()
        stopped = box.worker_pids
        after = box.grade_many(grader("return 1"), rows(2))

    assert stopped == ()
    assert after == [PythonResult(1.0)] * 2


def test_grade_many_when_a_worker_segfaults_shows_the_grader_line_in_the_detail():
    source = grader("ctypes.string_at(0)", prelude="import ctypes")
    with Sandbox(workers=1) as box:
        detail = box.grade_many(source, rows(1))[0].detail

    assert 'File "<grader>", line 3 in grade' in detail


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        pytest.param("def grade(sample, item)\n    return 1\n", "SyntaxError", id="syntax-error"),
        pytest.param("def score(sample, item):\n    return 1\n", "defines no `grade`", id="no-grade"),
        pytest.param("grade = 3\n", "`grade` is int 3, not a function", id="not-callable"),
        pytest.param("def grade(sample):\n    return 1\n", "must take two arguments", id="one-argument"),
        pytest.param("import no_such_module_xyz\n", "ModuleNotFoundError", id="missing-import"),
        pytest.param(
            "print('loading')\nraise RuntimeError('setup failed')\n", "RuntimeError: setup", id="raises"
        ),
    ],
)
def test_grade_many_when_source_cannot_load_gives_every_row_the_reason(box, source, expected):
    results = box.grade_many(source, rows(5))

    assert len(results) == 5
    assert {r.error for r in results} == {RUNTIME_ERROR}
    assert len({r.detail for r in results}) == 1
    assert expected in results[0].detail


def test_grade_many_when_top_level_code_prints_before_failing_reports_that_output(box):
    results = box.grade_many("print('loading')\nraise RuntimeError('setup failed')\n", rows(2))

    assert [r.stdout for r in results] == ["loading\n", "loading\n"]


def test_grade_many_when_two_sources_interleave_each_uses_its_own_grade_and_the_same_workers(box):
    first = grader("return 1.0")
    second = grader("return 2.0")

    scores = [
        {r.score for r in box.grade_many(source, rows(50))}
        for source in [first, second, first, second, first]
    ]
    pids = box.worker_pids

    assert scores == [{1.0}, {2.0}, {1.0}, {2.0}, {1.0}]
    assert box.grade_many(first, rows(50))
    assert box.worker_pids == pids


def test_grade_many_when_many_sources_exceed_the_worker_cache_still_grades_each_correctly(box):
    sources = [grader(f"return {n}") for n in range(12)]

    scores = [box.grade_many(sources[n % 12], rows(4))[0].score for n in range(30)]

    assert scores == [float(n % 12) for n in range(30)]


def test_grade_many_when_called_from_a_thread_while_an_event_loop_runs_works(box):
    async def main() -> list[PythonResult]:
        return await asyncio.to_thread(box.grade_many, grader("return 0.75"), rows(10))

    assert asyncio.run(main()) == [PythonResult(0.75)] * 10


def test_grade_many_when_two_threads_share_a_sandbox_gives_each_its_own_results(box):
    results: dict[float, list[PythonResult]] = {}

    def run(value: float) -> None:
        results[value] = box.grade_many(grader(f"return {value}"), rows(300))

    threads = [threading.Thread(target=run, args=(v,)) for v in (0.25, 0.5)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert results == {0.25: [PythonResult(0.25)] * 300, 0.5: [PythonResult(0.5)] * 300}


def test_grade_many_when_environment_holds_secrets_hides_them_from_the_grader(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-not-real")
    monkeypatch.setenv("MY_SERVICE_TOKEN", "t0k3n")
    monkeypatch.setenv("RFTKIT_PLAIN_SETTING", "kept")
    source = grader(
        "return float('OPENAI_API_KEY' not in os.environ and 'MY_SERVICE_TOKEN' not in os.environ"
        " and os.environ['RFTKIT_PLAIN_SETTING'] == 'kept')",
        prelude="import os",
    )
    with Sandbox(workers=1) as box:
        assert box.grade_many(source, rows(1)) == [PythonResult(1.0)]


def test_grade_many_when_no_pairs_returns_an_empty_list_without_starting_workers():
    with Sandbox(workers=1) as box:
        assert box.grade_many(EXACT_MATCH, []) == []
        assert box.worker_pids == ()


@pytest.mark.parametrize(
    "python",
    [
        pytest.param("/nonexistent/python3", id="missing-interpreter"),
        pytest.param("/bin/false", id="exits-at-once"),
    ],
)
def test_grade_many_when_workers_cannot_start_reports_server_error_on_every_row(python):
    with Sandbox(workers=2, python=python) as box:
        results = box.grade_many(EXACT_MATCH, rows(5))

    assert {r.error for r in results} == {SERVER_ERROR}
    assert all(python in r.detail or "failed to start" in r.detail for r in results)


def test_close_when_workers_ran_reaps_every_process():
    box = Sandbox(workers=2)
    box.grade_many(grader("return 1"), rows(20))
    pids = box.worker_pids

    box.close()
    box.close()

    assert len(pids) == 2
    assert all(reaped(pid) for pid in pids)
    assert box.worker_pids == ()


def test_grade_many_when_sandbox_is_closed_raises_config_error():
    box = Sandbox(workers=1)
    box.close()

    with pytest.raises(ConfigError, match="closed"):
        box.grade_many(EXACT_MATCH, rows(1))


@pytest.mark.parametrize(
    ("pairs", "expected"),
    [
        pytest.param([({}, {}), ({"x": object()}, {})], r"pairs\[1\] is not JSON-serialisable", id="object"),
        pytest.param([({}, {}, {})], r"pairs\[0\] must be a \(sample, item\) pair", id="three-values"),
        pytest.param([None], r"pairs\[0\] must be a \(sample, item\) pair", id="none"),
    ],
)
def test_grade_many_when_pairs_are_invalid_raises_config_error_naming_the_pair(box, pairs, expected):
    with pytest.raises(ConfigError, match=expected):
        box.grade_many(EXACT_MATCH, pairs)


def test_grade_many_when_source_is_not_a_string_raises_config_error(box):
    with pytest.raises(ConfigError, match="source must be a str"):
        box.grade_many(b"def grade(s, i): return 1", rows(1))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("settings", "field"),
    [
        pytest.param({"workers": 0}, "workers", id="zero-workers"),
        pytest.param({"workers": 1.5}, "workers", id="fractional-workers"),
        pytest.param({"timeout": 0}, "timeout", id="zero-timeout"),
        pytest.param({"timeout": float("inf")}, "timeout", id="infinite-timeout"),
        pytest.param({"timeout": True}, "timeout", id="bool-timeout"),
        pytest.param({"batch_size": -1}, "batch_size", id="negative-batch"),
        pytest.param({"memory_mb": 10}, "memory_mb", id="tiny-memory"),
        pytest.param({"memory_mb": 1.5}, "memory_mb", id="fractional-memory"),
    ],
)
def test_sandbox_when_a_setting_is_invalid_raises_config_error_naming_it(settings, field):
    with pytest.raises(ConfigError, match=rf"Sandbox\({field}="):
        Sandbox(**settings)


def test_sandbox_when_workers_not_given_uses_the_available_cpus():
    box = Sandbox()
    box.close()

    assert box.workers == len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()


def test_grade_many_when_grader_imports_a_module_next_to_the_worker_does_not_find_it(box):
    # the worker's own directory (rftkit_nb/scoring) must not be importable as top-level modules
    source = grader("import sandbox\nreturn 1")

    result = box.grade_many(source, rows(1))[0]

    assert result.error == RUNTIME_ERROR
    assert "ModuleNotFoundError" in result.detail
    assert sys.executable  # the workers run this interpreter


def test_sandbox_when_garbage_collected_without_close_reaps_its_workers():
    box = Sandbox(workers=1)
    box.grade_many(grader("return 1"), rows(1))
    (pid,) = box.worker_pids

    del box
    gc.collect()

    assert reaped(pid)


def test_sandbox_when_the_interpreter_exits_without_close_leaves_no_worker_behind():
    script = (
        "from rftkit_nb.scoring.sandbox import Sandbox\n"
        "box = Sandbox(workers=2)\n"
        "box.grade_many('def grade(s, i):\\n    return 1', [({}, {})] * 4)\n"
        "print(*box.worker_pids)\n"
    )
    done = subprocess.run(
        [sys.executable, "-W", "error", "-c", script], capture_output=True, text=True, timeout=60
    )

    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    pids = [int(p) for p in done.stdout.split()]
    assert len(pids) == 2
    assert all(reaped(pid) for pid in pids)


def test_sandbox_when_kernel_holds_secrets_then_workers_lack_them_and_outputs_mask_them(monkeypatch):
    secret = "sk-test-do-not-leak-0123456789"
    monkeypatch.setenv("MY_SERVICE_API_KEY", secret)
    monkeypatch.setenv("DATABASE_URL", "postgres://me:hunter2hunter2@db.example/x")
    # However a grader comes by a secret (here the row carries it; a hostile one could read the
    # kernel's /proc/<pid>/environ), what it prints or raises is shown with the secret masked.
    source = (
        "import os\n"
        "def grade(sample, item):\n"
        "    print('env:', os.environ.get('MY_SERVICE_API_KEY'), os.environ.get('DATABASE_URL'))\n"
        "    print('got:', item['leak'])\n"
        "    raise RuntimeError(item['leak'])\n"
    )
    with Sandbox(workers=1, timeout=10) as box:
        result = box.grade_many(source, [({}, {"leak": secret})])[0]
    assert "env: None None" in result.stdout  # not in the worker's environment
    assert "got: ***" in result.stdout
    assert secret not in result.stdout
    assert secret not in result.detail
    assert "RuntimeError: ***" in result.detail


@pytest.mark.parametrize(
    ("name", "value", "secret"),
    [
        pytest.param("OPENAI_API_KEY", "sk-abc", True, id="api-key"),
        pytest.param("GITHUB_TOKEN", "ghp-abc", True, id="token"),
        pytest.param("DATABASE_URL", "postgres://me:pw@db/x", True, id="url-with-password"),
        pytest.param("PIP_KEYRING_PROVIDER", "subprocess", False, id="keyring-is-not-key"),
        pytest.param("GIT_AUTHOR_NAME", "Jane Doe Smith", False, id="author-is-not-auth"),
        pytest.param("PWD", "/work/project", False, id="working-directory"),
    ],
)
def test_secret_detection_when_variable_named_then_only_real_credentials_are_masked(name, value, secret):
    from rftkit_nb.scoring.sandbox.pool import _looks_secret

    assert _looks_secret(name, value) is secret
