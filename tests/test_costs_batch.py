"""Batch size in the roofline: hand-computed passes and crossovers on a toy device, batch 1
priced exactly as before, where speculation stops paying, the figure, and batched timing on a
tiny pair.

Every test says which bug it catches.
"""

import math

import pytest

from handmade_traces import greedy_trace, sampled_trace
from specviz.measure.batch import (costs_at_batch, crossover_batch, max_batch, speedup_at_batch,
                                   speedup_by_batch, throughput_by_batch)
from specviz.measure.costs import CostModel, Roofline, price
from specviz.measure.hardware import (DEVICES, MODELS, Device, ModelShape, ridge_batch,
                                      without_overhead)
from specviz.teaching import theory

# One layer, hidden 2, a 3-token vocabulary: 40 weights read per pass, 4 KV values per token
# (test_costs.py counts them). Float32, 100 B/s, 200 FLOP/s (2 FLOPs per byte at the ridge).
TOY = ModelShape("toy", layers=1, hidden=2, intermediate=2, heads=1, kv_heads=1, head_dim=2,
                 vocab=3)
TOY_DEVICE = Device("toy", bandwidth=100, flops=200, memory=1e9, dtype="float32",
                    overhead_per_layer=0.0, overhead_per_call=0.1, source="by hand")


def toy(draft=None, overhead=True, context=None) -> Roofline:
    model = Roofline(TOY, draft, TOY_DEVICE if overhead else without_overhead(TOY_DEVICE))
    if context is not None:
        model.context = context
    return model


# ---- passes of a batch, by hand ----------------------------------------------------------------

def test_a_batched_pass_priced_by_hand():
    # fails if the weights were read once per sequence, the KV cache once per batch, the FLOPs
    # not multiplied by B, or the overhead charged per sequence
    model = toy()
    # B = 1, n = 1, context 3: bytes 4 (40 + 4 x 4) = 224 -> 2.24 s; FLOPs 80 + 8 x 4 = 112
    # -> 0.56 s; memory-bound: 0.1 + 2.24
    assert model.target_seconds(1, 3) == pytest.approx(2.34)
    two = model.at_batch(2)
    # B = 2, n = 1: bytes 4 (40 + 2 x 4 x 4) = 288 -> 2.88 s; FLOPs 2 x 112 = 224 -> 1.12 s
    assert two.target_seconds(1, 3) == pytest.approx(0.1 + 2.88)
    # B = 2, n = 4: bytes 4 (40 + 2 x 4 x 7) = 384 -> 3.84 s; FLOPs 2 (320 + 8 (12 + 10)) = 992
    # -> 4.96 s: compute-bound
    assert two.target_seconds(4, 3) == pytest.approx(0.1 + 4.96)
    assert two.bound(4, 3) == "compute" and two.bound(1, 3) == "memory"
    assert two.v(4, 3) == pytest.approx(5.06 / 2.98)
    assert "batch 2" in two.name and "batch 2" in two.label and model.batch == 1   # a copy


def test_batch_one_is_todays_roofline_exactly():
    # fails if the batch changed a single float at B = 1
    for name in ("H100", "laptop CPU (Apple M2)"):
        model = CostModel.roofline("SmolLM2-135M", "specviz-draft", name)
        shape, dev = model.target_shape, model.dev
        for n in (1, 2, 6, 64, 700):
            for ctx in (0, 64, 4000):
                moved = dev.dtype_bytes * (shape.params_per_pass
                                           + shape.kv_values_per_token() * (ctx + n))
                attended = n * ctx + n * (n + 1) / 2
                work = 2 * shape.params_per_pass * n \
                    + 4 * shape.layers * shape.heads * shape.head_dim * attended
                before = dev.overhead_per_call + shape.layers * dev.overhead_per_layer \
                    + max(moved / dev.bandwidth, work / dev.flops)
                assert model.target_seconds(n, ctx) == before
                assert model.at_batch(1).target_seconds(n, ctx) == before


@pytest.mark.parametrize("trace", [sampled_trace(), greedy_trace()], ids=["sampled", "greedy"])
@pytest.mark.parametrize("costs", [CostModel.roofline("SmolLM2-135M", "specviz-draft", "H100"),
                                   CostModel.fixed(0.1, 1.0), toy(TOY)],
                         ids=["h100", "paper", "toy"])
def test_price_at_batch_one_is_todays_price(trace, costs):
    # fails if batch=1 (or the default) priced anything differently from before
    assert price(trace, costs, batch=1) == price(trace, costs) == price(trace, costs.at_batch(1))
    assert price(trace, costs).batch == 1


def test_a_trace_priced_at_batch_two_by_hand():
    # sampled_trace: prompt of 2 tokens; round 0 verifies n = 4 after 1 cached token.
    # B = 2: bytes 4 (40 + 2 x 4 x 5) = 320 -> 3.2 s; FLOPs 2 (320 + 8 (4 + 10)) = 864 -> 4.32 s
    # fails if each verify pass scored K + 1 tokens instead of B (K + 1)
    run = price(sampled_trace(), toy(), batch=2)
    assert run.rounds[0].verify_seconds == pytest.approx(0.1 + 4.32)
    # the target alone decodes B = 2 tokens per step: token 0 after 1 cached token, n = 1:
    # bytes 4 (40 + 2 x 4 x 2) = 224 -> 2.24 s; FLOPs 2 (80 + 8 x 2) = 192 -> 0.96 s
    assert run.baseline_steps[0] == pytest.approx(0.1 + 2.24)
    # throughput counts the whole batch; at one batch its gain is the speed-up per sequence
    assert run.throughput == pytest.approx(2 * 7 / run.seconds)
    assert run.throughput / run.baseline_throughput == pytest.approx(run.speedup)
    assert run.tokens_per_second == pytest.approx(7 / run.seconds)
    rows = throughput_by_batch(sampled_trace(), toy(), batches=(1, 2))
    assert [r["batch"] for r in rows] == [1, 2] and rows[1]["speculative"] == run.throughput


def test_a_batch_needs_a_model_with_a_batch_dimension():
    # fails if the textbook model silently priced a batch as batch 1
    with pytest.raises(ValueError, match="no batch dimension"):
        price(sampled_trace(), CostModel.fixed(0.1, 1.0), batch=8)


def test_a_batch_whose_caches_do_not_fit_is_refused():
    # Llama-3.1-8B on one H100: 0.9 x 80 GB - 16.06 GB of weights leaves room for 416 caches
    # of 1,024 tokens (128 KiB each). fails if the KV caches of the batch were not counted
    model = CostModel.roofline("Llama-3.1-8B", None, "H100")
    assert max_batch(model, 1024) == 416
    model.at_batch(416, 1024)
    with pytest.raises(ValueError, match="do not fit"):
        model.at_batch(417, 1024)


# ---- the ridge and the crossover -------------------------------------------------------------

def test_the_ridge_batch_by_hand():
    # K = 1, empty cache: weights 4 x 40 / 100 = 1.6 s; a sequence's 2 tokens: FLOPs
    # (160 + 8 x 3) / 200 = 0.92 s against KV 4 x 4 x 2 / 100 = 0.32 s -> B = 1.6 / 0.6 = 8/3.
    # The rule of thumb (KV and attention left out): 2 FLOPs/B x 4 B / 2 / 2 tokens = 2.
    # fails if the KV cache were counted once per batch, or the ridge taken as n = K
    assert ridge_batch(TOY, TOY_DEVICE, 1, 0) == pytest.approx(8 / 3)
    model = toy(context=0)
    assert model.at_batch(2).bound(2, 0) == "memory" and model.at_batch(3).bound(2, 0) == "compute"


@pytest.mark.parametrize("k", [1, 3, 5])
def test_the_ridge_batch_is_the_rule_of_thumb_on_an_h100(k):
    # H100 in bfloat16: 295 FLOPs per byte x 2 bytes / 2 FLOPs = 295 tokens per pass.
    dev = DEVICES["H100"]
    rule = dev.ridge_intensity * dev.dtype_bytes / 2 / (k + 1)
    assert ridge_batch(MODELS["Llama-3.1-8B"], dev, k, 0) == pytest.approx(rule, rel=0.02)
    model = Roofline("Llama-3.1-8B", None, dev)
    b = ridge_batch(model.target_shape, dev, k, 64)
    assert model.at_batch(b * 0.99).bound(k + 1, 64) == "memory"
    assert model.at_batch(b * 1.01).bound(k + 1, 64) == "compute"


def test_the_crossover_by_hand():
    # No draft (c = 0), no overhead, empty caches, K = 1, alpha = 0.5: E = 1.5.
    # t(1, B) = max(1.6 + 0.16 B, 0.44 B): memory-bound up to B = 40/7;
    # t(2, B) = max(1.6 + 0.32 B, 0.92 B): compute-bound from B = 8/3.
    # Between them S = 1.5 (1.6 + 0.16 B) / (0.92 B) = 1 at B = 2.4 / 0.68 = 60/17.
    # fails if the crossover were taken at the ridge, or the draft's cost were counted
    model = toy(overhead=False, context=0)
    assert speedup_at_batch(0.5, 1, model, 1) == pytest.approx(1.5 * 1.76 / 1.92)
    assert crossover_batch(0.5, 1, model) == pytest.approx(60 / 17, rel=1e-9)
    assert speedup_at_batch(0.5, 1, model, 60 / 17) == pytest.approx(1.0)
    assert crossover_batch(0.5, 1, model, b_max=3) == math.inf       # still paying at B = 3
    # a draft as dear as the target (c = 1) never pays: 1.5 / (1 + v) < 1
    assert crossover_batch(0.5, 1, toy(TOY, overhead=False, context=0)) is None


@pytest.mark.parametrize("k", [1, 3, 5])
def test_the_crossover_on_an_h100_is_where_the_formula_crosses_one(k):
    # fails if crossover_batch returned a grid point or the wrong crossing
    model = CostModel.roofline("Llama-3.1-8B", "Llama-3.2-1B", "H100")
    b = crossover_batch(0.8, k, model)
    assert b > ridge_batch(model.target_shape, model.dev, k, model.context)
    assert speedup_at_batch(0.8, k, model, b) == pytest.approx(1.0, abs=1e-9)
    assert speedup_at_batch(0.8, k, model, b * 0.999) > 1
    assert speedup_at_batch(0.8, k, model, b * 1.001) < 1
    # the same as theory.speedup with c and v read off the roofline at that batch
    at = model.at_batch(b)
    assert theory.speedup(0.8, k, at.c, at.v(k + 1)) == pytest.approx(1.0, abs=1e-9)


@pytest.mark.parametrize("pair, device", [
    (("Llama-3.1-8B", "Llama-3.2-1B"), DEVICES["H100"]),
    (("Llama-3.1-8B", "Llama-3.2-1B"), DEVICES["H200"]),
    (("SmolLM2-1.7B", "SmolLM2-135M"), without_overhead(DEVICES["H100"])),
])
@pytest.mark.parametrize("alpha", [0.6, 0.8, 0.95])
def test_past_the_ridge_the_speedup_never_rises_with_the_batch(pair, device, alpha):
    # short contexts, weights dominating the step: fails if a bigger batch made speculation
    # pay more once the verify pass is compute-bound
    model = Roofline(*pair, device)
    for k in (1, 3, 5):
        ridge = ridge_batch(model.target_shape, device, k, model.context)
        batches = [ridge * 1.02 ** i for i in range(400) if ridge * 1.02 ** i < 4000]
        s = [speedup_at_batch(alpha, k, model, b) for b in batches]
        assert all(later <= earlier + 1e-12 for earlier, later in zip(s, s[1:]))
        below = [speedup_at_batch(alpha, k, model, b) for b in (1, 2, 4, 8)]
        assert max(below) - min(below) < 0.01 * max(below)       # flat far below the ridge


def test_overhead_can_make_a_bigger_batch_pay_more():
    # the module's stated exception: SmolLM2-135M has 30 layers to SmolLM2-1.7B's 24, so with
    # per-layer launch overhead its step costs more than the target's (c > 1) and speculation
    # never pays on the H100 preset; a bigger batch amortises the overhead and S rises.
    model = CostModel.roofline("SmolLM2-1.7B", "SmolLM2-135M", "H100")
    assert model.c > 1 and crossover_batch(0.8, 3, model) is None
    assert speedup_at_batch(0.8, 3, model, 1024) > speedup_at_batch(0.8, 3, model, 1)
    # with 512 tokens of context (192 KiB of KV per token, no grouped heads) it starts paying
    # at B = 256 and still pays at 512, the largest power of two that fits: the figure says so
    # (fails if a curve that rises through 1 were labelled as paying from B = 1)
    from specviz.views.plots_costs import plot_batch_speedup

    (curve,) = speedup_by_batch(0.8, model, ks=(3,), context=512)
    assert curve.crossover == math.inf and curve.speedups[0] < 1 < curve.speedups[-1]
    fig = plot_batch_speedup(0.8, model, ks=(3,), context=512)
    assert [t.get_text() for t in fig.axes[0].get_legend().get_texts()] == [
        "K = 3: pays from B = 256 to B = 512 (the largest drawn)"]


def test_curves_and_the_costs_of_every_preset():
    model = CostModel.roofline("Llama-3.1-8B", "Llama-3.2-1B", "H100")
    curves = speedup_by_batch(0.8, model, ks=(1, 3, 5))
    assert [c.k for c in curves] == [1, 3, 5]
    assert [round(c.crossover) for c in curves] == [414, 255, 155]     # more drafts, sooner
    assert curves[0].batches[0] == 1 and curves[0].batches[-1] <= max_batch(model)
    rows = costs_at_batch("Llama-3.1-8B", "Llama-3.2-1B", 1, 3)
    assert rows["H100 (roofline)"] == (pytest.approx(model.c), pytest.approx(model.v(4)))
    assert "Colab T4 (roofline)" not in rows                        # 16 GB of weights: no
    wide = costs_at_batch("Llama-3.1-8B", "Llama-3.2-1B", 256, 3)
    assert all(v > 1.5 for _, v in wide.values())                   # past every GPU's ridge


# ---- the figure ----------------------------------------------------------------------------

def test_the_batch_figure_renders_with_the_crossovers_marked():
    from matplotlib.figure import Figure

    from specviz.views.plots_costs import plot_batch_speedup

    model = CostModel.roofline("Llama-3.1-8B", "Llama-3.2-1B", "H100")
    fig = plot_batch_speedup(0.8, model, ks=(1, 3, 5))
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    assert ax.get_xscale() == "log"
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert labels == ["K = 1: stops paying at B ≈ 414", "K = 3: stops paying at B ≈ 255",
                      "K = 5: stops paying at B ≈ 155"]
    diamonds = [line for line in ax.lines if line.get_marker() == "D"]
    assert [round(line.get_xdata()[0]) for line in diamonds] == [414, 255, 155]
    fig.savefig(__import__("io").BytesIO(), format="png")          # renders on Agg


# ---- measured here, tiny ---------------------------------------------------------------------

def test_batched_passes_timed_on_a_tiny_pair(tmp_path):
    # tiny: two batches, one repeat. fails if the batches or widths are mislaid, the JSON
    # does not round-trip, or measured costs do not carry their batch into price
    from specviz.measure.batch_measure import BatchPassCosts, measure_batch_costs
    from tiny_models import tiny_pair

    from specviz.views.plots_costs import plot_batch_speedup

    timed = measure_batch_costs(tiny_pair(vocab=16), batches=(2,), widths=(2,), context=4,
                                repeats=1, warmup=0)
    assert timed.batches == (1, 2) and timed.widths == (1, 2)
    assert all(len(r) == 1 for per_batch in timed.target_seconds for r in per_batch)
    assert len(timed.draft_seconds) == 2 and timed.step_cost(1) == 1.0
    path = timed.to_json(tmp_path / "batch.json")
    assert BatchPassCosts.from_json(path) == timed
    costs = timed.costs(2)
    assert costs.batch == 2 and costs.v(2) == timed.v(2, 2) and costs.c == timed.c(2)
    run = price(sampled_trace(), costs)
    assert run.batch == 2 and "batch 2" in run.label
    assert run.throughput == pytest.approx(2 * run.tokens / run.seconds)
    with pytest.raises(ValueError, match="not measured"):
        timed.costs(4)
    (tmp_path / "bad.json").write_text("{")
    with pytest.raises(ValueError, match="bad.json"):
        BatchPassCosts.from_json(tmp_path / "bad.json")
    fig = plot_batch_speedup(0.8, CostModel.roofline("Llama-3.1-8B", "Llama-3.2-1B", "H100"),
                             ks=(1,), measured=timed)
    assert any("measured here" in t.get_text() for t in fig.axes[0].get_legend().get_texts())
