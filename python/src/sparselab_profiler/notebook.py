"""The dashboard inline in a notebook (Jupyter, JupyterLab, VS Code): shown once, where the run starts."""

from __future__ import annotations

import html
import sys


def in_notebook() -> bool:
    """Whether this runs in a notebook kernel (a terminal IPython has no kernel to display into)."""
    return _kernel_shell() is not None


def _kernel_shell() -> object:
    """The IPython shell of a notebook kernel, or None (a terminal IPython has no kernel to display into)."""
    ipython = sys.modules.get("IPython")  # never imported here: outside IPython it is not loaded
    shell = ipython.get_ipython() if ipython is not None else None
    return shell if getattr(shell, "kernel", None) is not None else None


def show_dashboard(url: str, height: int = 720) -> bool:
    """Displays the dashboard at `url` in the current notebook cell, with a link to open it in a tab for
    when the frame cannot load (a browser that cannot reach the kernel's machine); False outside a notebook."""
    if not in_notebook():
        return False
    from IPython.display import HTML, IFrame, display

    display(IFrame(url, width="100%", height=height))
    display(HTML(f'<a href="{html.escape(url)}" target="_blank" rel="noopener">Open the SparseLab Profiler dashboard in a new tab</a>'))
    return True
