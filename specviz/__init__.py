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
from importlib import abc as _abc, util as _util
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
    "CostModel": "measure.costs", "price": "measure.costs", "measure_pass_costs": "measure.costs",
    "Constant": "core.schedules", "Heuristic": "core.schedules", "Confidence": "core.schedules",
    "Oracle": "core.schedules", "TreeShape": "core.tree", "Eagle2": "core.tree", "speculate_tree": "core.tree_engine",
    "present": "views.presentation",
}

__all__ = sorted(_EXPORTS) + ["theory", "solutions", "exam"]


def __getattr__(name):
    if name in _EXPORTS:
        return getattr(import_module(f".{_EXPORTS[name]}", __name__), name)
    if name in _MOVED:
        return import_module(f".{_MOVED[name]}", __name__)
    raise AttributeError(f"module 'specviz' has no attribute '{name}'")


def __dir__():
    return __all__


# Before the regrouping every module sat directly in specviz/ (specviz.theory, specviz.widgets_k,
# ...). Those names still import - as the very same module objects, so monkeypatching either name
# patches both - through this finder (first in line, so an old file left behind by an editable
# install or a stale checkout can never shadow the real module).
_MOVED = {
    "rule": "core.rule",
    "engine": "core.engine",
    "recorder": "core.recorder",
    "kvcache": "core.kvcache",
    "drafters": "core.drafters",
    "draft_model": "core.draft_model",
    "eagle": "core.eagle",
    "models": "core.models",
    "model_cache": "core.model_cache",
    "trace": "core.trace",
    "tokens": "core.tokens",
    "schedules": "core.schedules",
    "tree": "core.tree",
    "tree_rule": "core.tree_rule",
    "tree_engine": "core.tree_engine",
    "theory": "teaching.theory",
    "solutions": "teaching.solutions",
    "solutions_rounds": "teaching.solutions_rounds",
    "exercises": "teaching.exercises",
    "exercises_beyond": "teaching.exercises_beyond",
    "exam": "teaching.exam",
    "exam_bank": "teaching.exam_bank",
    "exam_questions": "teaching.exam_questions",
    "exam_text": "teaching.exam_text",
    "simulate": "teaching.simulate",
    "minimal": "teaching.minimal",
    "sweep": "measure.sweep",
    "analysis": "measure.analysis",
    "costs": "measure.costs",
    "costs_measure": "measure.costs_measure",
    "hardware": "measure.hardware",
    "timings": "measure.timings",
    "prompts": "measure.prompts",
    "hf_assisted": "measure.hf_assisted",
    "replay": "views.replay",
    "replay_speedup": "views.replay_speedup",
    "console": "views.console",
    "html": "views.html",
    "html_page": "views.html_page",
    "html_tree": "views.html_tree",
    "plots": "views.plots",
    "plots_costs": "views.plots_costs",
    "plots_interactive": "views.plots_interactive",
    "plots_theory": "views.plots_theory",
    "plots_schedule": "views.plots_schedule",
    "presentation": "views.presentation",
    "widgets_rule": "widgets.rule_explorer",
    "widgets_k": "widgets.k_explorer",
    "widgets_exam": "widgets.exam",
}


class _FlatNames(_abc.MetaPathFinder, _abc.Loader):
    def find_spec(self, fullname, path=None, target=None):
        prefix, _, name = fullname.partition(".")
        if prefix == __name__ and name in _MOVED:
            return _util.spec_from_loader(fullname, self)
        return None

    def create_module(self, spec):
        real = import_module(f".{_MOVED[spec.name.partition('.')[2]]}", __name__)
        spec.loader_state = real.__spec__
        return real

    def exec_module(self, module):  # nothing to run; give back the spec the import stamped over
        module.__spec__ = module.__spec__.loader_state


if not any(isinstance(f, _FlatNames) for f in _sys.meta_path):
    _sys.meta_path.insert(0, _FlatNames())
