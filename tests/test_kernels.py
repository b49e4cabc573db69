"""The CPU kernels of specviz.core.kernels: the same products as the default kernel up to
rounding, a one-token float32 step bit for bit unchanged, greedy speculative output still the
target's own, and the switch both ways."""

import pytest
import torch

from specviz import speculate
from specviz.core.kernels import PACKED_FROM, PrepackedLinear, kernel_of, use_kernel
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
