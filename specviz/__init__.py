"""specviz: speculative decoding, recorded and visualised.

    import specviz
    pair = specviz.load_pair()                      # the embedded default pair, offline
    trace = specviz.speculate(pair, "Why is the sky blue?", k=5)
    trace.acceptance_rate, trace.tokens_per_round   # measured alpha, tokens per target call

Names are imported lazily, so ``specviz.theory``, ``specviz.trace`` and the views work
without loading torch or any model.
"""

import os as _os
import sys as _sys
from importlib import import_module

# CPU runs: OpenMP threads that wait by sleeping, not by spinning. With the default (spin, then
# sleep) a forward pass stalls for seconds when another process shares the cores; see
# specviz.models.default_threads and bench/threads.py. OpenMP reads this once, when torch loads,
# so it is set only if torch is not loaded yet, and never over the user's own setting.
if "torch" not in _sys.modules:
    _os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

_EXPORTS = {
    "speculate": "engine", "autoregressive": "engine",
    "load_pair": "models", "ModelPair": "models", "ModelLoadError": "models",
    "Trace": "trace", "TraceError": "trace",
    "Drafter": "drafters", "ModelDrafter": "drafters",
    "expected_tokens_per_round": "theory", "speedup": "theory", "optimal_k": "theory",
    "cost_factor": "theory", "acceptance_rate": "theory", "acceptance_probability": "theory",
    "Solution": "solutions", "explain_speedup": "solutions",
    "explain_classic_question": "solutions",
    "RoundPlayer": "widgets", "AcceptanceRuleExplorer": "widgets_rule", "KExplorer": "widgets_k",
    "SpeedupCalculator": "widgets_exam", "Quiz": "widgets_exam", "export_html": "html",
    "plot_round": "plots", "PromptLookupDrafter": "drafters", "EagleDrafter": "eagle",
    "CostModel": "costs", "price": "costs", "measure_pass_costs": "costs",
    "Constant": "schedules", "Heuristic": "schedules", "Confidence": "schedules",
    "Oracle": "schedules", "TreeShape": "tree", "Eagle2": "tree", "speculate_tree": "tree_engine",
    "present": "presentation",
}
_MODULES = ("theory", "solutions", "exam", "trace", "engine", "models", "drafters", "eagle", "sweep",
            "analysis", "plots", "plots_theory", "plots_interactive", "widgets", "html", "replay",
            "simulate", "console", "costs", "hardware", "timings", "prompts", "plots_costs",
            "schedules", "tree", "tree_rule", "tree_engine", "html_tree", "plots_schedule",
            "hf_assisted", "examples", "presentation")

__all__ = sorted(_EXPORTS) + ["theory", "solutions", "exam"]


def __getattr__(name):
    if name in _EXPORTS:
        return getattr(import_module(f".{_EXPORTS[name]}", __name__), name)
    if name in _MODULES:
        return import_module(f".{name}", __name__)
    raise AttributeError(f"module 'specviz' has no attribute '{name}'")


def __dir__():
    return __all__
