"""The package layout: subpackages that show the architecture, one import path per module (the
flat names of earlier releases gone), public names that resolve to what they name, views that
never load torch, and no import-time side effects in the user's IPython."""

import importlib
import inspect
import pkgutil
import subprocess
import sys

import pytest

import specviz

VIEW_PACKAGES = ("specviz.views", "specviz.widgets", "specviz.teaching")


def _modules(package: str) -> list[str]:
    pkg = importlib.import_module(package)
    return [f"{package}.{m.name}" for m in pkgutil.iter_modules(pkg.__path__)]


# module names that sat directly in specviz/ before the regrouping into subpackages
FLAT_NAMES = ("engine", "models", "trace", "theory", "solutions", "exam", "sweep", "costs",
              "plots", "replay", "html", "widgets_k", "widgets_rule", "widgets_exam")


@pytest.mark.parametrize("old", FLAT_NAMES)
def test_the_flat_names_of_earlier_releases_are_gone(old):
    # fails if an alias layer (a meta-path finder or a module-level table) maps an old flat
    # module name onto a subpackage again: each module has one import path
    with pytest.raises(ModuleNotFoundError):
        importlib.import_module(f"specviz.{old}")
    if old not in specviz._MODULES:             # theory, solutions, exam: see specviz._MODULES
        assert not hasattr(specviz, old)
    assert not any(type(f).__module__.startswith("specviz") for f in sys.meta_path)


def test_every_public_name_resolves_to_what_it_names():
    # fails if an _EXPORTS entry points at the wrong module (or at a name that is not there):
    # each name is the object defined in its home module, and of the kind it names
    for name, home in specviz._EXPORTS.items():
        obj = getattr(specviz, name)
        assert obj is getattr(importlib.import_module(f"specviz.{home}"), name), name
        # defined there, not imported into it (core.engine imports ModelPair: an entry
        # pointing ModelPair at core.engine passes the identity check above, fails this one)
        assert obj.__module__ == f"specviz.{home}", (name, obj.__module__)
        if name.endswith("Error"):
            assert isinstance(obj, type) and issubclass(obj, Exception), name
        elif name[0].isupper():                                  # Trace, RoundPlayer, Oracle...
            assert isinstance(obj, type), name
        else:                                                    # speculate, price, present...
            assert inspect.isfunction(obj), name
    for name, home in specviz._MODULES.items():
        module = getattr(specviz, name)
        assert inspect.ismodule(module) and module.__name__ == f"specviz.{home}", name
    assert sorted(specviz.__all__) == sorted([*specviz._EXPORTS, *specviz._MODULES])


def test_the_modules_of_all_resolve_after_a_plain_import():
    # fails if specviz.examples (or theory, solutions, exam) needs its own import first
    code = ("import specviz; print(specviz.examples.__name__, specviz.theory.__name__, "
            "specviz.exam.__name__, specviz.solutions.__name__)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["specviz.examples", "specviz.teaching.theory",
                                  "specviz.teaching.exam", "specviz.teaching.solutions"]


# modules outside those subpackages that must load without torch or pyplot too: the cost model
# and its measured numbers, the shipped examples, the batch roofline, the schedules (their
# notebooks and the saved-trace path load them with no model)
TORCH_FREE = ("specviz.measure.costs", "specviz.measure.hardware", "specviz.measure.costs_measure",
              "specviz.measure.batch", "specviz.measure.batch_measure", "specviz.examples",
              "specviz.core.schedules")


def test_views_widgets_and_teaching_never_import_torch_or_pyplot():
    # every module of those subpackages, found on disk (a new view is covered without editing
    # this; teaching.minimal is the algorithm in plain PyTorch, on purpose), and TORCH_FREE.
    # The one torch-free import check: test_plots' list of views is covered here.
    modules = [m for p in VIEW_PACKAGES for m in _modules(p) if m != "specviz.teaching.minimal"]
    assert len(modules) > 20
    modules += TORCH_FREE
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
