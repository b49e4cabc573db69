"""The ipywidgets of the notebooks: they read traces (and, for the K explorer, run the engine
inside their button callbacks). Never import torch at import time.

    from specviz.widgets import RoundPlayer
    RoundPlayer(trace)
"""

from importlib import import_module

_HOMES = {"RoundPlayer": "round_player", "show_in": "round_player",
          "AcceptanceRuleExplorer": "rule_explorer", "KExplorer": "k_explorer",
          "SpeedupCalculator": "exam", "Quiz": "exam"}

__all__ = sorted(_HOMES)


def __getattr__(name):  # each widget imports its own dependencies on first use
    if name in _HOMES:
        return getattr(import_module(f".{_HOMES[name]}", __name__), name)
    raise AttributeError(f"module 'specviz.widgets' has no attribute '{name}'")


def __dir__():
    return __all__
