"""The submit panel and the job monitor in a real JupyterLab and Chromium, against the loopback platform.

The panel validates the grader, refuses an out-of-range hyperparameter next to its field, asks for a
confirmation and creates one job; the monitor, polling from the kernel, follows it to ``succeeded`` and
draws the reward and per-grader curves; a second, longer job is paused, resumed and cancelled from the
monitor's buttons. What happened is read back from Python. A rubric whose text is an XSS payload shows as
text. Any console error, uncaught exception or dialog fails the test.
"""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.slow

XSS = "<img src=x onerror=alert(1)>"
KEY = "azkey-browser-0123456789abcdef"
CELLS = [
    "%load_ext rftkit_nb\nimport json\nimport openai\nimport pandas as pd\nfrom rftkit_nb.testing import FakeOpenAI\n"
    "from rftkit_nb.notebook.magics import workbench_of\nfrom rftkit_nb.notebook.widgets import JobMonitor\n"
    "server = FakeOpenAI().__enter__()\n"
    f"azure = openai.OpenAI(base_url=server.azure_v1_base_url, api_key={KEY!r}, default_headers={{'api-key': {KEY!r}}},"
    " max_retries=0)\n"
    "df = pd.DataFrame([{'messages': [{'role': 'user', 'content': f'What is {i}+{i}?'}], 'answer': str(2 * i),"
    " 'cluster': 'chat'} for i in range(12)])",  # 0
    f"%%rubric tone --clusters chat\n1.0 = polite {XSS}; 0.0 = rude.",  # 1
    "_ = workbench_of(get_ipython()).add_grader({'type': 'string_check', 'name': 'exact', 'operation': 'eq',"
    " 'input': '{{ sample.output_text }}', 'reference': '{{ item.answer }}'})",  # 2
    "panel = %rft submit --train df --client azure --panel\npanel",  # 3
    "print(json.dumps({'job': panel.job.id, 'creates': sum(r.route == 'jobs.create' for r in server.requests),"
    " 'hyper': panel.job.data['method']['reinforcement']['hyperparameters']['n_epochs']}))",  # 4
    "monitor = panel.monitor(poll=0.2)\nmonitor",  # 5
    "print(json.dumps({'status': monitor.status, 'polling': monitor.polling, 'train': len(monitor.series['train']),"
    " 'graders': sorted(monitor.series['graders'])}))",  # 6
    "from rftkit_nb.remote import submit\nserver.platform.total_steps = 500\n"
    "job2 = submit(workbench_of(get_ipython()), train=panel._train, validation=panel._valid,"
    " model='o4-mini-2025-04-16', client=azure, force=True, show=None)\nlong = JobMonitor(job2, poll=0.3)\nlong",  # 7
    "print(json.dumps({'status': job2.status, 'polling': long.polling,"
    " 'actions': sorted({r.route for r in server.requests if r.route.startswith('jobs.') and r.method == 'POST'})}))",  # 8
    "JobMonitor.stop_all()\nazure.close()\nserver.__exit__(None, None, None)",  # 9
]


def test_submit_panel_and_job_monitor_in_jupyterlab(notebook_factory, page, shots):
    nb = notebook_factory("ship.ipynb", CELLS)
    for i in range(4):
        nb.run(i)
    panel = nb.cell(3).locator(".rftkit-submit")
    panel.locator('[data-op="validate"]').wait_for()

    # The grader JSON is text: the rubric's XSS payload is shown, never run.
    panel.locator(".rftkit-grader-json summary").click()
    assert XSS in panel.locator(".rftkit-grader-json pre").inner_text()
    assert panel.locator("img").count() == 0
    assert panel.locator('[data-section="cost drivers"] li').filter(has_text="$5,000").count() == 1

    # Validate asks the platform; its answer shows in the panel.
    panel.locator('[data-op="validate"]').click()
    panel.locator('[data-validation="ok"]').wait_for()

    # An out-of-range hyperparameter is named next to its field; a good one clears it.
    epochs = panel.locator('input[data-hyper="n_epochs"]')
    epochs.fill("0")
    epochs.press("Tab")
    panel.locator('[data-hyper-error="n_epochs"]').filter(has_text="outside 1..50").wait_for()
    assert panel.locator('input[data-hyper="n_epochs"][aria-invalid="true"]').count() == 1
    panel.locator('input[data-hyper="n_epochs"]').fill("2")
    panel.locator('input[data-hyper="n_epochs"]').press("Tab")
    panel.locator('[data-hyper-error="n_epochs"]').wait_for(state="detached")
    panel.locator('[data-section="cost drivers"] li').filter(has_text="n_epochs 2").first.wait_for()

    # Submit only asks; the confirmation creates the job.
    panel.locator('[data-op="submit"]').click()
    panel.locator(".rftkit-confirm").filter(has_text="Training is billed").wait_for()
    shots.save(panel, "submit-panel-light.png")
    shots.theme(page, "JupyterLab Dark")
    shots.keep(shots.save(panel, "submit-panel-dark.png"), "submit-panel-dark.png")
    shots.theme(page, "JupyterLab Light")
    panel.locator('[data-op="confirm"]').click()
    panel.locator(".rftkit-job").wait_for()
    panel.locator(".rftkit-notice.rftkit-ok").filter(has_text="created job").wait_for()
    state = nb.json(4)
    assert state["creates"] == 1
    assert state["hyper"] == 2
    assert panel.locator(".rftkit-job").inner_text().startswith(f"job {state['job']}")

    # The monitor polls from the kernel until the job succeeds, and draws the curves.
    nb.run(5)
    monitor = nb.cell(5).locator(".rftkit-monitor")
    monitor.locator('[data-status="succeeded"]').wait_for(timeout=30_000)
    monitor.locator('[data-title="reward"] path[data-series="train"][data-points="4"]').wait_for()
    monitor.locator('[data-title="reward"] path[data-series="valid"][data-points="4"]').wait_for()
    grader_charts = monitor.locator(".rftkit-chart[data-grader]")
    assert grader_charts.count() == 3  # tone, its cluster indicator, exact
    assert (
        monitor.locator('.rftkit-chart[data-grader] path[data-points="4"]').count() == 6
    )  # train + valid each
    assert monitor.locator(".rftkit-checkpoints tr[data-checkpoint]").count() == 2
    assert monitor.locator('.rftkit-event[data-type="metrics"]').count() == 4
    assert "step: 4/4 (100%)" in monitor.locator(".rftkit-summary").inner_text()
    assert monitor.locator(".rftkit-polling").count() == 0  # polling stopped at the end
    state = nb.json(6)
    assert state["status"] == "succeeded"
    assert state["polling"] is False
    assert state["train"] == 4
    assert state["graders"] == ["applies_tone", "exact", "tone"]
    shots.save(monitor, "job-monitor-light.png")
    shots.theme(page, "JupyterLab Dark")
    shots.keep(shots.save(monitor, "job-monitor-dark.png"), "job-monitor-dark.png")
    shots.theme(page, "JupyterLab Light")

    # A long job: pause, resume, and cancel (which asks twice) from the buttons.
    nb.run(7)
    long = nb.cell(7).locator(".rftkit-monitor")
    long.locator('[data-op="pause"]').click(timeout=30_000)
    long.locator('[data-status="paused"]').wait_for()
    long.locator('[data-op="resume"]').click()
    long.locator('[data-status="running"]').wait_for()
    long.locator('[data-op="cancel"]').click()
    long.locator('[data-op="cancel"]').filter(has_text="really cancel").click()
    long.locator('[data-status="cancelled"]').wait_for()
    long.locator(".rftkit-notice.rftkit-ok").filter(has_text="cancelled").wait_for()
    state = nb.json(8)
    assert state["status"] == "cancelled"
    assert state["actions"] == ["jobs.cancel", "jobs.create", "jobs.pause", "jobs.resume"]
    nb.run(9)

    assert page.console.errors == []
