"""Which matrix kernel a CPU pass runs its linear layers with: the choice that decides whether a
verify pass over K + 1 tokens costs about one decoding step.

A decoding step of a small model on a CPU reads every weight once; scoring K + 1 tokens in the
same pass should cost little more (the weights are read once either way). Whether it does
depends on the kernel as much as on the hardware. With ``torch.nn.functional.linear`` a float32
layer goes to the BLAS library, which picks a matrix-vector routine for one row and a general
matrix-matrix routine for several, re-laying the weights out on every call: the cost of a pass
jumps between 1 and 3 rows (``bench/pass_profile.py`` measures it, layer kind by layer kind).

``kernel="prepacked"`` lays each weight out once, when the model is loaded, in oneDNN's blocked
format, and later calls multiply against that copy (``torch.ops.mkldnn._linear_pointwise``, the
kernel PyTorch's own compiler emits for frozen CPU weights): in bfloat16 for every call, in
float32 from 4 rows on (below that the default kernel's matrix-vector routine is as fast, so a
one-token step costs what it did). Measured on the 2-core Xeon this was built on
(``docs/measurements.md``), it flattens float32 verify passes over 4 or more tokens and makes
bfloat16 passes cheaper at every width. The numbers are the same matrix product summed in
another order: rounding-level differences, so a greedy text can change only at a near-tie, and
a speculative run and the target alone always run the same kernel.

>>> import torch
>>> layer = torch.nn.Linear(8, 4)
>>> model = torch.nn.Sequential(layer)
>>> _ = use_kernel(model, "prepacked")
>>> type(model[0]).__name__, kernel_of(model)
('PrepackedLinear', 'prepacked')
>>> x = torch.randn(3, 8)
>>> torch.allclose(model(x), layer(x), atol=1e-5)
True
"""

from __future__ import annotations

import torch
from torch import nn

KERNELS = ("default", "prepacked")
PACKED_ROWS = 8   # the row count oneDNN lays the weights out for; any other count still works
# From this many rows on, the packed weights win. In float32 the default kernel's matrix-vector
# path is as fast below it (bench/pass_profile.py: the default BLAS routine changes at 4 rows);
# in bfloat16 the packed weights win from the first row.
PACKED_FROM = {torch.float32: 4}


class PrepackedLinear(nn.Module):
    """``nn.Linear`` with its weight laid out once for oneDNN. Keeps the original ``weight``
    (tied embeddings and ``state_dict`` still see it) and adds the packed copy beside it."""

    def __init__(self, linear: nn.Linear):
        super().__init__()
        self.in_features, self.out_features = linear.in_features, linear.out_features
        self.weight, self.bias = linear.weight, linear.bias
        self.packed_from = PACKED_FROM.get(linear.weight.dtype, 1) * linear.in_features
        with torch.no_grad():
            self.packed = torch.ops.mkldnn._reorder_linear_weight(linear.weight.detach(), PACKED_ROWS)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.numel() < self.packed_from:     # a few float32 rows: the default kernel's vector
            return nn.functional.linear(x, self.weight, self.bias)   # routine is as fast
        return torch.ops.mkldnn._linear_pointwise(x, self.packed, self.bias, "none", [], "")

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, prepacked"


def available(kernel: str, device: torch.device | str = "cpu") -> bool:
    """Whether ``kernel`` runs here: "prepacked" needs a CPU and a PyTorch built with oneDNN."""
    if kernel == "default":
        return True
    return torch.device(device).type == "cpu" and torch.backends.mkldnn.is_available()


def use_kernel(model: nn.Module, kernel: str) -> nn.Module:
    """Run ``model``'s linear layers with ``kernel`` ("default" or "prepacked"), in place; the
    model remembers its kernel (:func:`kernel_of`). Refuses a kernel this device cannot run."""
    if kernel not in KERNELS:
        raise ValueError(f"unknown kernel {kernel!r}; choose one of {KERNELS}")
    if kernel == kernel_of(model):
        return model
    device = next(model.parameters()).device
    if not available(kernel, device):
        raise ValueError(f"kernel {kernel!r} runs on a CPU with oneDNN; this model is on "
                         f"{device}: use kernel='default'")
    for parent in list(model.modules()):
        for name, child in list(parent.named_children()):
            if kernel == "prepacked" and type(child) is nn.Linear:
                setattr(parent, name, PrepackedLinear(child))
            elif kernel == "default" and isinstance(child, PrepackedLinear):
                plain = nn.Linear(child.in_features, child.out_features, bias=child.bias is not None,
                                  device="meta")
                plain.weight, plain.bias = child.weight, child.bias
                setattr(parent, name, plain)
    model.specviz_kernel = kernel
    return model


def pick_kernel(device: torch.device | str, dtype: torch.dtype) -> str:
    """The kernel :func:`specviz.load_pair` uses unless told: a fixed rule, never a timing.

    >>> pick_kernel("cuda", torch.bfloat16)
    'default'
    """
    return "default"


def kernel_of(model: nn.Module) -> str:
    """The kernel ``model``'s linear layers run ("default" unless :func:`use_kernel` set one)."""
    return getattr(model, "specviz_kernel", "default")
