"""Cost models and pricing: exact identities, hand-priced traces, monotonic sanity, presets,
measuring on a tiny pair, the roofline fit, and a run's robust timings.

Every test says which bug it catches; each was seen failing with that bug planted.
"""

import json
import math
from dataclasses import replace

import pytest

from handmade_traces import greedy_trace, sampled_trace, timed_trace
from specviz.measure import costs, costs_measure
from specviz.measure.costs import CostModel, MeasuredCosts, Roofline, price
from specviz.measure.hardware import DEVICES, MODELS, Device, ModelShape, model_shape, ridge_tokens
from specviz.measure.timings import run_timings
from specviz.teaching import theory
from tiny_models import tiny_pair


@pytest.fixture(scope="module")
def tiny_traces():
    from specviz import autoregressive, speculate

    pair = tiny_pair(vocab=16, seed=3, noise=0.4)
    out = []
    for k, n in [(1, 13), (3, 20), (5, 17)]:       # budgets that shorten the last round
        trace = speculate(pair, [1, 2, 3], k=k, max_new_tokens=n, temperature=1.0, seed=k)
        out.append(trace.with_baseline(autoregressive(pair, [1, 2, 3], max_new_tokens=n, seed=k)))
    return out


# ---- the exact identities ------------------------------------------------------------------

def test_free_draft_and_flat_verify_price_to_tokens_per_target_call(tiny_traces):
    # fails if price counts trimmed tokens, prices the prefill, or charges a draft call
    for trace in tiny_traces + [sampled_trace(), greedy_trace()]:
        priced = price(trace, CostModel.fixed(0, 1))
        assert priced.speedup == len(trace.output_ids) / trace.target_calls


def test_fixed_c_with_unit_verify_is_leviathans_accounting(tiny_traces):
    # Leviathan et al. §3: a round costs K c + 1 target steps, each token 1 step without a draft.
    # fails if the draft calls of a round are counted as K + 1 or the verify pass as K + 1 steps
    c = 0.13
    for trace in tiny_traces:
        # no EOS here; the last round drafts only what the budget can take (r.k <= trace.k)
        assert all(len(r.draft_seconds) == r.k for r in trace.rounds)
        expected = len(trace.output_ids) / sum(r.k * c + 1 for r in trace.rounds)
        assert price(trace, CostModel.fixed(c, 1)).speedup == pytest.approx(expected, rel=1e-12)
    # and with the expected tokens per round in place of the measured one, theory.speedup
    e = theory.expected_tokens_per_round(0.7, 4)
    assert e / (4 * c + 1) == pytest.approx(theory.speedup(0.7, 4, c))


def test_a_handmade_trace_priced_by_hand():
    # sampled_trace: rounds with 3, 3 and 1 draft calls and verify widths n = 4, 4, 2; 7 tokens.
    # v(n) = 1 + 0.1 (n - 1): 1.3 + 0.3, 1.3 + 0.3, 1.1 + 0.1 = 4.4 steps against 7.
    # fails if n is taken as k + 1 for the last round or draft calls as k
    priced = price(sampled_trace(), CostModel.fixed(0.1, lambda n: 1 + 0.1 * (n - 1)))
    assert [round(r.draft_seconds + r.verify_seconds, 9) for r in priced.rounds] == [1.6, 1.6, 1.2]
    assert priced.speedup == pytest.approx(7 / 4.4)
    assert priced.until(1) == (pytest.approx(3.2), 6, 6.0)
    assert priced.unit == "target steps" and priced.tokens_per_second is None


def test_a_roofline_priced_by_hand():
    # One layer, hidden 2, a 3-token vocabulary: per pass 2*(4 + 4) attention + 3*2*2 MLP + 2*2
    # norms = 32 layer weights + 2 (final norm) + 6 (head) = 40 read; KV: 2 values per layer per
    # token. On a device of 400 B/s, 160 FLOP/s, float32, 0.1 s per pass:
    shape = ModelShape("toy", layers=1, hidden=2, intermediate=2, heads=1, kv_heads=1,
                       head_dim=2, vocab=3)
    assert shape.params_per_pass == 40 and shape.kv_values_per_token() == 4
    dev = Device("toy", bandwidth=400, flops=160, memory=1e9, dtype="float32",
                 overhead_per_layer=0.0, overhead_per_call=0.1, source="by hand")
    model = Roofline(shape, shape, dev)
    # n = 1, context 3: bytes 4 * (40 + 4 * 4) = 224 -> 0.56 s; FLOPs 2*40 + 4*2*(3 + 1) = 112
    # -> 0.7 s: compute-bound, 0.8 s. (fails if the max() became a sum, or attention were left out)
    assert model.target_seconds(1, 3) == pytest.approx(0.1 + 0.7)
    assert model.bound(1, 3) == "compute"
    # n = 2: FLOPs 2*40*2 + 4*2*(2*3 + 3) = 232 -> 1.45 s
    assert model.target_seconds(2, 3) == pytest.approx(0.1 + 1.45)


# ---- sanity: more hardware is never slower, more work never faster -------------------------

@pytest.mark.parametrize("device", sorted(DEVICES))
def test_more_bandwidth_or_flops_is_never_slower(device):
    # fails if a term is divided the wrong way round (bytes * bandwidth)
    dev = DEVICES[device]
    base = Roofline("SmolLM2-135M", "specviz-draft", dev)
    for faster in (replace(dev, bandwidth=dev.bandwidth * 2), replace(dev, flops=dev.flops * 2)):
        quick = Roofline("SmolLM2-135M", "specviz-draft", faster)
        for n in (1, 2, 8, 64, 512, 4096):
            assert quick.target_seconds(n, 64) <= base.target_seconds(n, 64)
        assert quick.draft_seconds(64) <= base.draft_seconds(64)
    for ctx in (0, 1000):                              # a wider pass is never faster
        times = [base.target_seconds(n, ctx) for n in range(1, 600, 7)]
        assert times == sorted(times)
    assert base.target_seconds(8, 4096) > base.target_seconds(8, 64)   # nor a longer cache


def test_the_ridge_point_is_where_compute_takes_over():
    shape, dev = MODELS["Llama-3.1-8B"], DEVICES["H100"]
    n = ridge_tokens(shape, dev)
    model = Roofline(shape, None, dev)
    assert model.bound(math.floor(n) - 1, 0) == "memory" and model.bound(math.ceil(n) + 1, 0) == "compute"
    assert 250 < n < 320              # ~ peak / bandwidth / (2 FLOPs per 2-byte weight)


# ---- presets ---------------------------------------------------------------------------------

# Published parameter counts (model cards); Qwen2.5's q/k/v biases are not in the shape (<0.2%).
PUBLISHED = {"SmolLM2-135M": 134.5e6, "SmolLM2-360M": 361.8e6, "SmolLM2-1.7B": 1.711e9,
             "Llama-3.2-1B": 1.236e9, "Llama-3.2-3B": 3.213e9, "Llama-3.1-8B": 8.03e9,
             "Llama-3.1-70B": 70.55e9, "Qwen2.5-0.5B": 0.494e9, "Qwen2.5-7B": 7.62e9}


@pytest.mark.parametrize("name", sorted(PUBLISHED))
def test_model_presets_have_their_published_size(name):
    # fails if a config value is mistyped (layers, widths, heads or vocabulary)
    assert MODELS[name].params == pytest.approx(PUBLISHED[name], rel=0.01)


def test_the_drafts_shape_comes_from_its_config():
    from specviz.core.models import DRAFT_DIR

    config = json.loads((DRAFT_DIR / "config.json").read_text())
    shape = ModelShape.from_config(config, name="specviz-draft", head_rows=8192)
    assert shape == MODELS["specviz-draft"]
    assert model_shape("HuggingFaceTB/SmolLM2-135M-Instruct") is MODELS["SmolLM2-135M"]
    with pytest.raises(KeyError, match="from_config"):
        model_shape("my-own-model")
    with pytest.raises(ValueError, match="Llama-style"):
        ModelShape.from_config({"hidden_size": 8})


@pytest.mark.parametrize("device", sorted(DEVICES))
@pytest.mark.parametrize("target", sorted(PUBLISHED))
def test_every_preset_prices_or_says_it_does_not_fit(device, target):
    dev = DEVICES[device]
    try:
        model = Roofline(target, "SmolLM2-135M", dev)
    except ValueError as err:
        assert "needs" in str(err) and "GB" in str(err)
        assert MODELS[target].params * dev.dtype_bytes > 0.9 * dev.memory * dev.max_count / 2
        return
    assert model.target_seconds(1) > 0 and 0 < model.c and model.v(4) >= 1
    assert model.label == (f"modelled: the decisions of this run, the costs of {target} on "
                           f"{model.device}")
    assert "measured" not in model.label
    assert dev.source
    if model.count > 1:           # tensor parallel: each device holds its share
        assert MODELS[target].params * dev.dtype_bytes > 0.9 * dev.memory


def test_a_70b_target_is_split_across_gpus_where_it_does_not_fit():
    assert Roofline("Llama-3.1-70B", "Llama-3.1-8B", "H100").count == 2
    assert Roofline("Llama-3.1-8B", "Llama-3.2-1B", "H100").count == 1
    with pytest.raises(ValueError, match="T4"):
        Roofline("Llama-3.1-70B", "Llama-3.1-8B", "Colab T4")


def test_the_choices_for_a_recorded_run():
    trace = replace(sampled_trace(), target_name="SmolLM2-135M-Instruct", draft_name="specviz-draft")
    names = list(costs.choices(trace))
    assert names[0] == "measured on this machine" and names[1].startswith("paper: v = 1")
    assert {"H100 (roofline)", "Colab T4 (roofline)", "laptop CPU (Apple M2) (roofline)"} <= set(names)
    lookup = costs.choices(replace(trace, draft_name="prompt-lookup"))["H100 (roofline)"]
    assert lookup.c == 0                                   # no network proposes the tokens
    unknown = costs.choices(sampled_trace())               # names no preset knows
    assert list(unknown) == names[:2]
    assert costs.choices(sampled_trace(baseline=False)) == {}


# ---- a run's own timings ---------------------------------------------------------------------

def _timed(trace, draft, verify, steps):
    rounds = [replace(r, draft_seconds=tuple(d for _ in r.draft_seconds), target_seconds=v)
              for r, d, v in zip(trace.rounds, draft, verify)]
    return replace(trace, rounds=rounds, baseline=replace(trace.baseline, step_seconds=tuple(steps)))


def test_run_timings_are_medians_without_the_first_round():
    # six rounds of K = 3; round 0 (warm-up) is 20x slower and must not move c or v.
    # fails if the first round or the baseline's first step is included, or means are used
    base = sampled_trace()
    full = base.rounds[1]
    rounds = [replace(full, index=i, start=2 + 4 * i) for i in range(6)]
    trace = replace(base, rounds=rounds)
    trace = _timed(trace, [0.2, 0.010, 0.011, 0.010, 0.012, 0.010],
                   [1.0, 0.05, 0.06, 0.05, 0.05, 0.055], [2.0, 0.05, 0.05, 0.05, 0.051, 0.05])
    timings = run_timings(trace)
    assert timings.c == pytest.approx(0.010 / 0.05) and timings.v == pytest.approx(0.05 / 0.05)
    assert timings.n == 4 and not timings.noisy
    measured = CostModel.from_trace(trace)
    assert measured.c == pytest.approx(0.2) and measured.v(4) == pytest.approx(1.0)
    assert measured.label.startswith("priced: the decisions of this run, the median costs measured")
    # one slow spell in the verify passes: the middle half widens and the run is flagged noisy
    noisy = _timed(trace, [0.2] + [0.010] * 5, [1.0, 0.05, 0.4, 0.05, 0.9, 0.05], [2.0] + [0.05] * 5)
    assert run_timings(noisy).noisy and run_timings(noisy).spreads["verify pass"] > 0.25


def test_a_schedule_whose_first_round_is_its_widest_still_has_a_verify_cost():
    # K = 3 in round 0 only, then K = 1 (a heuristic schedule after early rejections): the verify
    # cost is the K = 1 passes' (n = 2); fails if round 0's width is required of later rounds
    base = sampled_trace()
    narrow = base.rounds[2]
    assert base.rounds[0].n_drafted == 3 and narrow.n_drafted == 1
    rounds = [base.rounds[0]] + [replace(narrow, index=i, start=base.rounds[0].start + 4 + 2 * i)
                                 for i in range(1, 5)]
    trace = _timed(replace(base, rounds=rounds), [0.2] + [0.010] * 4, [1.0] + [0.06] * 4,
                   [2.0] + [0.05] * 4)
    timings = run_timings(trace)
    assert timings.n == 2 and timings.v == pytest.approx(0.06 / 0.05)
    assert CostModel.from_trace(trace).v(2) == pytest.approx(1.2)


def test_too_few_rounds_are_flagged_noisy():
    # sampled_trace has one full verify pass after the first round: too few to trust
    assert run_timings(sampled_trace()).noisy and run_timings(sampled_trace()).samples == 1
    timings = run_timings(timed_trace())
    assert not timings.noisy and (timings.c, timings.v) == (pytest.approx(0.2), pytest.approx(1.0))


# ---- measuring and fitting -------------------------------------------------------------------

def test_measure_pass_costs_on_a_tiny_pair_round_trips_as_json(tmp_path):
    pair = tiny_pair(vocab=16)
    seen = []        # the progress callback: fails if a round over the widths is not reported
    measured = costs_measure.measure_pass_costs(
        pair, widths=(2, 4), context=8, repeats=3, warmup=1,
        progress=lambda done, total: seen.append((done, total)))
    assert seen == [(1, 4), (2, 4), (3, 4), (4, 4)]
    assert measured.widths == (1, 2, 4) and [len(t) for t in measured.target_seconds] == [3, 3, 3]
    assert len(measured.draft_seconds) == 3 and measured.c > 0
    assert all(s > 0 for times in measured.target_seconds for s in times)
    path = measured.to_json(tmp_path / "costs.json")
    assert costs_measure.PassCosts.from_json(path) == measured
    assert isinstance(measured.costs(), MeasuredCosts) and measured.costs().v(2) == measured.v(2)
    path.write_text(json.dumps(dict(measured.to_dict(), schema="other")))
    with pytest.raises(ValueError, match="costs.json.*schema"):
        costs_measure.PassCosts.from_json(path)


def _synthetic(model: Roofline, widths=(1, 2, 4, 8, 16), context=64):
    times = tuple((model.target_seconds(n, context),) * 3 for n in widths)
    return costs_measure.PassCosts("SmolLM2-135M", "specviz-draft", "cpu", "float32", 2, context,
                                   widths, times, (model.draft_seconds(context),) * 3)


def test_pass_costs_written_with_the_old_key_qs_still_load(tmp_path):
    # Files measured before the width was called n store it as "qs"; they load, and are
    # written back with "widths". fails if the old key is refused or still written
    costs = _synthetic(Roofline("SmolLM2-135M", "specviz-draft", "H100"))
    old = {("qs" if key == "widths" else key): value for key, value in costs.to_dict().items()}
    path = tmp_path / "old.json"
    path.write_text(json.dumps(old))
    assert costs_measure.PassCosts.from_json(path) == costs
    assert "widths" in costs.to_dict() and "qs" not in costs.to_dict()


def test_calibrate_recovers_a_known_device():
    # Measurements generated by a known roofline must be fitted back almost exactly.
    # fails if the draft row is dropped (per-layer and per-pass overhead then blur together)
    truth = Device("truth", bandwidth=12e9, flops=90e9, memory=math.inf, dtype="float32",
                   overhead_per_layer=0.2e-3, overhead_per_call=1e-3, source="test")
    model = Roofline("SmolLM2-135M", "specviz-draft", truth)
    fitted, fit = costs_measure.calibrate(_synthetic(model), MODELS["SmolLM2-135M"],
                                          MODELS["specviz-draft"])
    assert fit.max_error < 0.02
    assert max(abs(e) for e in fit.v_errors(range(2, 17)).values()) < 0.02
    assert fitted.c == pytest.approx(model.c, rel=0.03)
    assert fitted.dev.overhead_per_layer >= 0 and fitted.dev.overhead_per_call >= 0
    assert "fitted" in fitted.device
