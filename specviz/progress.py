"""Progress a student can see, and silence where there is nothing to see.

* :func:`bar` - a progress bar (``tqdm.auto``: a widget in a notebook, text in a terminal) for
  the long experiments; pass its ``update`` method to the ``progress=`` callbacks of
  :func:`specviz.sweep.run_sweep` and friends via :func:`ticker`.
* :func:`quiet_loading` - silences transformers' "Loading weights" progress bars (and the hub's
  download bars) while specviz loads a model, then restores whatever the user had set: loading
  the 135M default pair takes a second, and a bar per load cluttered every notebook output and
  the command line.

No torch here (views may import this module).
"""

from __future__ import annotations

import contextlib


def bar(total: int, desc: str, leave: bool = True):
    """A ``tqdm.auto`` progress bar over ``total`` steps (a widget in Jupyter, text elsewhere)."""
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, leave=leave)


def ticker(progress):
    """Adapt a bar to the ``progress(done, total)`` callbacks of :mod:`specviz.sweep`."""

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
