"""Progress a student can see, and silence where there is nothing to see.

* :func:`bar` - a progress bar (``tqdm.auto``: a widget in a notebook, text in a terminal) for
  the long experiments; :func:`ticker` adapts it to the ``progress(done, total)`` callbacks of
  :func:`specviz.measure.sweep.run_sweep`.
* :func:`auto_bar` - the bar that ``speculate``, ``autoregressive``, ``run_sweep`` and
  ``measure_pass_costs`` show by themselves while they run in a Jupyter kernel (and nowhere
  else: scripts, tests and benchmarks stay quiet), removed when they finish, so no cell that
  runs a model sits at ``[*]`` with nothing on screen. Inside a call that already shows a bar
  (:func:`nested`), the calls it makes show none.
* :func:`quiet_loading` - silences transformers' "Loading weights" progress bars (and the hub's
  download bars) while specviz loads a model, then restores whatever the user had set: loading
  the 135M default pair takes a second, and a bar per load cluttered every notebook output and
  the command line.

No torch here (views may import this module).
"""

from __future__ import annotations

import contextlib
import sys

_depth = 0          # > 0 while a specviz call shows a bar: the calls it makes show none


def bar(total: int, desc: str, leave: bool = True):
    """A progress bar over ``total`` steps: a widget in Jupyter (:func:`notebook_bar`), text
    elsewhere (``tqdm``)."""
    if in_notebook():
        return notebook_bar(total, desc, leave)
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, leave=leave)


def notebook_bar(total: int, desc: str, leave: bool = True):
    """tqdm's notebook widget while the work runs, replaced by plain text when it is closed: the
    final line (``leave``) or nothing. A saved notebook then holds no widget output, which
    reopened without its kernel would read "Error displaying widget: model not found". A run
    that ends early (EOS before the token budget) is finished, not failed: its bar closes full,
    never red."""
    from IPython.display import display
    from tqdm.notebook import tqdm as widget_bar

    class SavedAsText(widget_bar):
        def __init__(self):
            super().__init__(total=total, desc=desc, leave=leave, display=False)
            self.handle = display(self.container, display_id=True)

        def close(self):
            if self.disable:
                return
            if self.total and self.n < self.total:
                self.total = self.n            # stopped early: done, not an error
            text = str(self) if leave else ""
            super().close()
            self.handle.update({"text/plain": text}, raw=True)

    return SavedAsText()


def in_notebook() -> bool:
    """True inside a Jupyter kernel (IPython's ZMQ shell), where a bar is a widget."""
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None and hasattr(ipython, "get_ipython") else None
    return type(shell).__name__ == "ZMQInteractiveShell"


class _NoBar:
    n, total = 0, 0

    def update(self, n: int = 1) -> None:
        self.n += n

    def close(self) -> None:
        pass


def auto_bar(total: int, desc: str, progress: bool | None = None):
    """A transient bar (gone when closed) if ``progress`` is True, or if it is None and this
    runs in a Jupyter kernel outside another specviz bar; else a bar that draws nothing."""
    show = progress if progress is not None else (_depth == 0 and in_notebook())
    return bar(total, desc, leave=False) if show else _NoBar()


@contextlib.contextmanager
def nested():
    """Inside: specviz calls show no bar of their own (their caller shows one)."""
    global _depth
    _depth += 1
    try:
        yield
    finally:
        _depth -= 1


def ticker(progress):
    """Adapt a bar to the ``progress(done, total)`` callbacks of :mod:`specviz.measure.sweep`."""

    def tick(done: int, total: int) -> None:
        if progress.total != total:
            progress.total = total
        progress.update(done - progress.n)

    return tick


@contextlib.contextmanager
def quiet_loading():
    """Inside: no transformers or hub progress bars. The previous setting is restored on exit,
    so a user who switched them on or off keeps that choice outside specviz's own loads."""
    try:
        from huggingface_hub import utils as hub_utils
        from transformers.utils import logging as hf_logging
    except ImportError:       # no transformers: nothing to silence
        yield
        return
    was_on, hub_was_off = hf_logging.is_progress_bar_enabled(), hub_utils.are_progress_bars_disabled()
    hf_logging.disable_progress_bar()          # transformers' bars, and the hub's with them
    try:
        yield
    finally:
        if was_on:
            hf_logging.enable_progress_bar()   # switches the hub's back on too ...
            if hub_was_off:
                hub_utils.disable_progress_bars()   # ... unless they were off before
