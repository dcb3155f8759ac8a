"""In a real Jupyter kernel, attaching shows the dashboard inline once; outside one nothing is displayed."""

import json
import shutil
import sys

import pytest

from conftest import free_port, stop
from sparselab_profiler.server_launcher import find_cli

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")


@pytest.mark.skipif(shutil.which("node") is None or find_cli() is None, reason="needs Node.js and the built CLI")
def test_a_notebook_cell_that_attaches_shows_the_dashboard_once_in_a_frame(tmp_path):
    url = f"http://127.0.0.1:{free_port()}"
    cell = f"""
import torch
from torch import nn
from sparselab_profiler import SparsityProfilerCallback
profiler = SparsityProfilerCallback(every=1, logdir={str(tmp_path)!r}, server={url!r}, report=False)
profiler.attach(nn.Sequential(nn.Linear(8, 4)))
for _ in range(3):
    profiler.step()
profiler.close()
print(json.dumps({{"run": profiler.run_id, "pid": profiler.server_pid}}))
"""
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("import json"), nbformat.v4.new_code_cell(cell)])
    # The kernel is this interpreter (the venv's ipykernel), started the way Jupyter starts it.
    nbclient.NotebookClient(notebook, timeout=120, kernel_name="python3",
                            resources={"metadata": {"path": str(tmp_path)}}).execute()
    outputs = notebook.cells[1].outputs
    printed = json.loads(next(o for o in outputs if o.output_type == "stream" and o.text.startswith("{"))["text"].splitlines()[-1])
    try:
        frames = [o for o in outputs if o.output_type == "display_data" and "<iframe" in o.data.get("text/html", "")]
        links = [o for o in outputs if o.output_type == "display_data" and "<a href" in o.data.get("text/html", "")]
        assert len(frames) == 1 and len(links) == 1
        dashboard = f"{url}/?run={printed['run']}"
        assert f'src="{dashboard}"' in frames[0].data["text/html"] and 'width="100%"' in frames[0].data["text/html"]
        assert f'href="{dashboard}"' in links[0].data["text/html"]
        assert printed["pid"] is not None  # the profiler started the server, and waited for it before the frame
    finally:
        if printed.get("pid"):
            stop(printed["pid"])


def test_outside_a_notebook_nothing_is_displayed_and_ipython_is_not_imported():
    import subprocess

    show = "from sparselab_profiler.notebook import show_dashboard; shown = show_dashboard('http://127.0.0.1:8080/?run=x')"
    plain = subprocess.run([sys.executable, "-c", f"{show}; import sys; print(shown, 'IPython' in sys.modules)"],
                           capture_output=True, text=True, timeout=60)
    assert plain.stdout == "False False\n", plain.stderr
    # A terminal IPython has a shell but no kernel to display into.
    terminal = subprocess.run([sys.executable, "-c", "from IPython.core.interactiveshell import InteractiveShell; "
                               f"InteractiveShell.instance(); {show}; print(shown)"], capture_output=True, text=True, timeout=60)
    assert terminal.stdout == "False\n", terminal.stderr
