"""specviz: speculative decoding, recorded and visualised.

    import specviz
    pair = specviz.load_pair()                      # the embedded default pair, offline
    trace = specviz.speculate(pair, "Why is the sky blue?", k=5)
    trace.acceptance_rate, trace.tokens_per_round   # measured alpha, tokens per target call

Names are imported lazily, so ``specviz.teaching.theory``, ``specviz.core.trace`` and the views work
without loading torch or any model.
"""

import os as _os
import sys as _sys
from importlib import import_module

# CPU runs: OpenMP threads that wait by sleeping, not by spinning. With the default (spin, then
# sleep) a forward pass stalls for seconds when another process shares the cores; see
# specviz.core.models.default_threads and bench/threads.py. OpenMP reads this once, when torch loads,
# so it is set only if torch is not loaded yet, and never over the user's own setting.
if "torch" not in _sys.modules:
    _os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

_EXPORTS = {
    "speculate": "core.engine", "autoregressive": "core.engine",
    "load_pair": "core.models", "ModelPair": "core.models", "ModelLoadError": "core.models",
    "Trace": "core.trace", "TraceError": "core.trace",
    "Drafter": "core.drafters", "ModelDrafter": "core.drafters",
    "expected_tokens_per_round": "teaching.theory", "speedup": "teaching.theory", "optimal_k": "teaching.theory",
    "cost_factor": "teaching.theory", "acceptance_rate": "teaching.theory", "acceptance_probability": "teaching.theory",
    "Solution": "teaching.solutions", "explain_speedup": "teaching.solutions",
    "explain_classic_question": "teaching.solutions",
    "RoundPlayer": "widgets.round_player", "AcceptanceRuleExplorer": "widgets.rule_explorer", "KExplorer": "widgets.k_explorer",
    "SpeedupCalculator": "widgets.exam", "Quiz": "widgets.exam", "export_html": "views.html",
    "plot_round": "views.plots", "PromptLookupDrafter": "core.drafters", "EagleDrafter": "core.eagle",
    "CostModel": "measure.costs", "price": "measure.costs", "measure_pass_costs": "measure.costs_measure",
    "Constant": "core.schedules", "Heuristic": "core.schedules", "Confidence": "core.schedules",
    "Oracle": "core.schedules", "TreeShape": "core.tree", "Eagle2": "core.tree", "speculate_tree": "core.tree_engine",
    "present": "views.presentation",
}

# Modules reachable as attributes of a plain ``import specviz`` (``specviz.theory.speedup(...)``).
_MODULES = {"theory": "teaching.theory", "solutions": "teaching.solutions", "exam": "teaching.exam",
            "examples": "examples"}

__all__ = sorted(_EXPORTS) + sorted(_MODULES)


def __getattr__(name):
    if name in _EXPORTS:
        return getattr(import_module(f".{_EXPORTS[name]}", __name__), name)
    if name in _MODULES:
        return import_module(f".{_MODULES[name]}", __name__)
    raise AttributeError(f"module 'specviz' has no attribute '{name}'")


def __dir__():
    return __all__
