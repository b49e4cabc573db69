"""The CPU kernels of specviz.core.kernels: the same products as the default kernel up to
rounding, a one-token float32 step bit for bit unchanged, greedy speculative output still the
target's own, and the switch both ways."""

import pytest
import torch

from specviz import speculate
from specviz.core.kernels import (PACKED_FROM, PREPACK_UP_TO_BYTES, PrepackedLinear, available,
                                  kernel_of, pick_kernel, use_kernel)
from specviz.views.console import summary
from test_engine import hf_greedy
from tiny_models import tiny_pair


@pytest.mark.parametrize("rows", [1, 3, 4, 9])
def test_a_prepacked_layer_computes_the_default_product(rows):
    torch.manual_seed(0)
    layer = torch.nn.Linear(64, 48)
    packed = PrepackedLinear(layer)
    x = torch.randn(1, rows, 64)
    if rows < PACKED_FROM[torch.float32]:    # a float32 step of 1-3 rows: the default kernel itself
        assert torch.equal(packed(x), layer(x))
    else:
        torch.testing.assert_close(packed(x), layer(x), rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("k", [1, 3, 6])
def test_greedy_speculation_on_prepacked_kernels_is_the_targets_greedy(k):
    pair = tiny_pair(vocab=32, seed=2, noise=0.3)
    use_kernel(pair.target, "prepacked")
    use_kernel(pair.draft, "prepacked")
    trace = speculate(pair, [1, 2, 3], k=k, max_new_tokens=24, temperature=0)
    assert trace.output_ids == hf_greedy(pair.target, [1, 2, 3], 24)


def test_the_kernel_switches_both_ways_and_refuses_unknown_ones():
    pair = tiny_pair(vocab=16, seed=1)
    weight = pair.target.lm_head.weight
    use_kernel(pair.target, "prepacked")
    assert kernel_of(pair.target) == "prepacked" and isinstance(pair.target.lm_head, PrepackedLinear)
    assert pair.target.lm_head.weight is weight            # tied embeddings still see it
    use_kernel(pair.target, "default")
    assert kernel_of(pair.target) == "default" and type(pair.target.lm_head) is torch.nn.Linear
    assert pair.target.lm_head.weight is weight
    with pytest.raises(ValueError, match="unknown kernel 'fast'"):
        use_kernel(pair.target, "fast")


def test_the_default_kernel_is_a_fixed_rule_and_the_trace_records_it():
    """pick_kernel reads the device and the weights' size, never a timing: prepacked on a CPU
    with oneDNN up to PREPACK_UP_TO_BYTES (the packed copy doubles them), default elsewhere.
    A run's trace and its console summary say which kernel ran. Fails if the rule changes
    with the size on the wrong side, or if the trace keeps the old "not recorded"."""
    cpu = "prepacked" if available("prepacked") else "default"
    assert pick_kernel("cpu", torch.float32, weight_bytes=PREPACK_UP_TO_BYTES) == cpu
    assert pick_kernel("cpu", torch.float32, weight_bytes=PREPACK_UP_TO_BYTES + 1) == "default"
    assert pick_kernel("cuda", torch.float32) == "default"
    pair = tiny_pair(vocab=16, seed=1)
    use_kernel(pair.target, "prepacked")
    use_kernel(pair.draft, "prepacked")
    trace = speculate(pair, [1, 2, 3], k=2, max_new_tokens=6, temperature=0)
    assert pair.kernel == trace.kernel == "prepacked"
    assert summary(trace).splitlines()[0].endswith("cpu/float32, prepacked kernel")


def test_the_kernel_comparison_times_each_configuration_beside_the_roofline():
    """notebook 08's table: every (precision, kernel) measured on the pair it asked for, each
    precision's roofline measured (positive peak and bandwidth) and flat (v = 1.00) below its
    ridge. Fails if a configuration is measured on the wrong kernel or precision, or if the
    table leaves one out."""
    from specviz.measure import kernel_compare

    seen = []

    def load(dtype, kernel):
        pair = tiny_pair(vocab=32, seed=2)
        for model in (pair.target, pair.draft):
            model.to(getattr(torch, dtype))
            use_kernel(model, kernel)
        seen.append((dtype, kernel, pair.kernel, str(pair.dtype)))
        return pair

    configs = [c for c in kernel_compare.CONFIGS if available(c[1])]
    out = kernel_compare.compare(widths=(1, 2), repeats=1, configs=configs, load=load,
                                 size=128, read_bytes=8 * 2**20)
    assert seen == [(d, k, k, f"torch.{d}") for d, k in configs]
    assert set(out.costs) == set(configs) and out.widths == (1, 2)
    assert all(c.kernel == k and c.dtype == d for (d, k), c in out.costs.items())
    for dev in out.rooflines.values():
        assert dev.bandwidth > 0 and dev.flops > 0 and dev.overhead_per_call == 0
    table = out.table()
    assert all(f"{d}/{k}" in table for d, k in configs) and "float32 roofline" in table
    assert all(f"{d}/{k} {1000 * c.median(1):.1f} ms" in table for (d, k), c in out.costs.items())
    row = next(line for line in table.splitlines() if line.startswith("  2"))
    # the roofline's v(2): 1.00 while 2 tokens sit below the ridge, more above it
    for cell, dev in zip(row.split()[-len(out.rooflines):], out.rooflines.values()):
        below = kernel_compare.ridge_tokens(out.shape, dev, kernel_compare.CONTEXT) >= 2
        assert (cell == "1.00") == below, (cell, dev)


def test_prepacking_refuses_weights_that_are_not_all_in_cpu_memory():
    """A device map may offload weights to the meta device; prepacking them used to end in
    oneDNN's NotImplementedError about Meta tensors. It now says what to do."""
    pair = tiny_pair(vocab=16, seed=1)
    pair.target.lm_head.to("meta")
    with pytest.raises(ValueError, match="weights are on cpu and meta: use kernel='default'"):
        use_kernel(pair.target, "prepacked")
    assert kernel_of(pair.target) == "default"


def test_a_prepacked_model_copies_trains_and_follows_its_weights():
    """Notebook 06 deep-copies the default draft and fine-tunes the copy. A prepacked layer
    could not be copied (oneDNN's packed tensor has no storage), would give the weight no
    gradient (the packed product has none), and after an optimizer step would multiply with
    the stale packed copy. Each of the three fails this test."""
    import copy

    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(16, 8))
    use_kernel(model, "prepacked")
    twin = copy.deepcopy(model)
    assert isinstance(twin[0], PrepackedLinear) and twin[0].weight is not model[0].weight
    x = torch.randn(6, 16)                       # 6 rows: the packed product in float32
    with torch.no_grad():
        torch.testing.assert_close(twin(x), model(x))
    opt = torch.optim.SGD(twin.parameters(), lr=0.5)
    twin(x).pow(2).sum().backward()
    assert twin[0].weight.grad is not None and twin[0].weight.grad.abs().sum() > 0
    opt.step()
    with torch.no_grad():
        after = twin(x)
        torch.testing.assert_close(after, torch.nn.functional.linear(x, twin[0].weight, twin[0].bias),
                                   rtol=1e-5, atol=1e-5)
        assert not torch.allclose(after, model(x))
