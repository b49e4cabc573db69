"""The package layout: subpackages that show the architecture, the flat names of earlier releases
still importing as the same modules, views that never load torch, and no import-time side effects
in the user's IPython."""

import importlib
import pkgutil
import subprocess
import sys

import specviz

VIEW_PACKAGES = ("specviz.views", "specviz.widgets", "specviz.teaching")


def _modules(package: str) -> list[str]:
    pkg = importlib.import_module(package)
    return [f"{package}.{m.name}" for m in pkgutil.iter_modules(pkg.__path__)]


def test_the_flat_names_of_earlier_releases_are_the_same_modules():
    # fails if an alias is a copy (monkeypatching one name would then miss the other) or is lost
    for old, new in specviz._MOVED.items():
        flat = importlib.import_module(f"specviz.{old}")
        assert flat is importlib.import_module(f"specviz.{new}"), old
        assert flat.__spec__.name == f"specviz.{new}"          # not stamped with the old name
    from specviz.widgets_k import KExplorer
    from specviz import KExplorer as exported
    assert KExplorer is exported


def test_every_public_name_resolves():
    for name in specviz.__all__:
        assert getattr(specviz, name) is not None, name


def test_views_widgets_and_teaching_never_import_torch_or_pyplot():
    # every module of those subpackages, found on disk: a new view is covered without editing this
    # (teaching.minimal is the algorithm in plain PyTorch, on purpose)
    modules = [m for p in VIEW_PACKAGES for m in _modules(p) if m != "specviz.teaching.minimal"]
    assert len(modules) > 20
    code = (f"import sys, importlib; [importlib.import_module(m) for m in {modules!r}]; "
            "print(sorted(m for m in ('torch', 'matplotlib.pyplot') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=180)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


def test_importing_the_plots_registers_nothing_in_ipython():
    # fails if specviz.views.plots registers a display formatter at import time again; the figures
    # show themselves through _repr_png_ instead
    code = ("from IPython.core.interactiveshell import InteractiveShell; "
            "shell = InteractiveShell.instance(); "
            "f = shell.display_formatter.formatters['image/png']; before = dict(f.type_printers); "
            "import specviz.views.plots as p, specviz.widgets; "
            "print(dict(f.type_printers) == before); "
            "fig = p.Figure(); fig.add_subplot().plot([0, 1]); "
            "data, _ = shell.display_formatter.format(fig); print(data['image/png'][:4] == b'\\x89PNG')")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["True", "True"]
