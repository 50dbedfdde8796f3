"""Done-when, on the loopback server with both client kinds: DataFrame -> lint -> files -> validate ->
parity -> submit -> watch to succeeded with metrics -> checkpoints; then no key anywhere it could leak."""

from __future__ import annotations

import logging
import os
from pathlib import Path

import pytest

from rftkit_nb import Judge, lint
from rftkit_nb.errors import RemoteError
from rftkit_nb.remote import list_jobs, parity, submit, validate, write_dataset
from tests.remote.conftest import (
    AZURE_KEY,
    BEFORE_OPENAI_CUTOFF,
    OPENAI_KEY,
    make_client,
    reward_grader,
    rows_frame,
)


def _everything_written(*roots: Path) -> str:
    parts = []
    for root in roots:
        for path in root.rglob("*"):
            if path.is_file():
                parts.append(path.read_bytes().decode("utf-8", "replace"))
    return "\n".join(parts)


@pytest.mark.parametrize("layout", ["openai", "azure-v1", "azure-dated"])
def test_rft_path_when_run_end_to_end_then_job_succeeds_and_no_key_leaks(
    server, tmp_path, layout, capsys, caplog
) -> None:
    caplog.set_level(logging.DEBUG)
    server.require_key = OPENAI_KEY if layout == "openai" else AZURE_KEY
    shown: list[str] = []
    frame = rows_frame(30)
    grader = reward_grader()

    found = lint(grader, dataset=frame)
    assert found.ok, found
    train, valid = write_dataset(frame, tmp_path / "data" / "rft.jsonl", grader=grader)
    with make_client(server, layout) as client:
        checked = validate(grader, client=client, today=BEFORE_OPENAI_CUTOFF)
        assert checked.ok, checked
        judge = Judge(base_url=server.base_url, api_key=server.require_key, cache=tmp_path / "judge.sqlite3")
        agreement = parity(grader, frame, client=client, judge=judge, n=5, today=BEFORE_OPENAI_CUTOFF)
        assert agreement.verdict.startswith("parity: all 5 rows agree")
        job = submit(grader, train=train, validation=valid, model="o4-mini-2025-04-16", client=client,
                     today=BEFORE_OPENAI_CUTOFF, record=tmp_path / "submissions.json", show=shown.append)  # fmt: skip
        job.wait(poll=0.01, sleep=lambda s: None)
        assert job.status == "succeeded"
        metrics = job.metrics()
        assert metrics[-1].step == metrics[-1].total_steps == 4
        assert metrics[-1].train_reward_mean is not None
        assert "tone" in metrics[-1].graders
        checkpoints = job.checkpoints()
        assert [c.step for c in checkpoints] == [2, 4]
        jobs = list_jobs(client=client)
        assert [j.id for j in jobs] == [job.id]
        with pytest.raises(RemoteError) as refused:
            # a 401 whose body echoes the key that was sent
            list_jobs(
                client=client.with_options(
                    api_key="wrong-key-1234", default_headers={"api-key": "wrong-key-1234"}
                )
            )
    assert all(
        r.layout == layout for r in server.requests if r.route.startswith(("files", "jobs", "graders"))
    )
    if layout != "openai":
        assert any("api-key" in r.headers for r in server.requests if r.route == "jobs.create")

    outputs = [repr(o) for o in (found, train, valid, checked, agreement, job, jobs, *checkpoints, *shown)]
    outputs += [
        o._repr_html_() for o in (found, train, checked, agreement, job, jobs) if hasattr(o, "_repr_html_")
    ]
    outputs += [str(refused.value), *capsys.readouterr(), caplog.text, repr(server.requests)]
    written = _everything_written(tmp_path, Path(os.environ["XDG_CACHE_HOME"]))
    assert "wrong-key-1234" not in str(refused.value)
    for key in (OPENAI_KEY, AZURE_KEY, "wrong-key-1234"):
        assert key not in written
        assert not [o for o in outputs if key in o]
