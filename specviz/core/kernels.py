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

import copy

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
    (tied embeddings and ``state_dict`` still see it) and adds the packed copy beside it.

    The packed copy follows the weight: a weight changed in place since it was packed (an
    optimizer step, ``load_state_dict``) or replaced is packed again before the next packed
    product. With gradients on, the layer multiplies with the weight itself, so training
    sees the true autograd graph (the packed product has no gradient for the weight)."""

    def __init__(self, linear: nn.Linear):
        super().__init__()
        self.in_features, self.out_features = linear.in_features, linear.out_features
        self.weight, self.bias = linear.weight, linear.bias
        self.packed_from = PACKED_FROM.get(linear.weight.dtype, 1) * linear.in_features
        self._pack()

    def _pack(self) -> None:
        with torch.no_grad():
            self.packed = torch.ops.mkldnn._reorder_linear_weight(self.weight.detach(), PACKED_ROWS)
        self.packed_for = (self.weight.data_ptr(), self.weight._version)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.numel() < self.packed_from or (torch.is_grad_enabled() and self.weight.requires_grad):
            # a few float32 rows: the default kernel's vector routine is as fast; or training
            return nn.functional.linear(x, self.weight, self.bias)
        if self.packed_for != (self.weight.data_ptr(), self.weight._version):
            self._pack()                      # the weight changed since it was packed
        return torch.ops.mkldnn._linear_pointwise(x, self.packed, self.bias, "none", [], "")

    def __deepcopy__(self, memo):
        # oneDNN's packed tensor has no storage to copy: copy the weights, pack the copy
        plain = nn.Linear(self.in_features, self.out_features, bias=self.bias is not None,
                          device="meta")
        plain.weight = copy.deepcopy(self.weight, memo)
        plain.bias = copy.deepcopy(self.bias, memo)
        return PrepackedLinear(plain)

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
    devices = {p.device.type for p in model.parameters()}
    if kernel == "prepacked" and (devices != {"cpu"} or not available(kernel)):
        where = " and ".join(sorted(devices))   # "meta": weights offloaded by a device map
        raise ValueError(f"kernel {kernel!r} runs on a CPU with oneDNN, with every weight in "
                         f"its memory; this model's weights are on {where}: use kernel='default'")
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


# A prepacked copy sits beside every original weight (the float32 path below PACKED_FROM rows and
# tied embeddings read the original), so the linear layers take twice their memory. Up to this
# many bytes of weights (the default pair: about 0.6 GB in float32) that is cheap; a bigger
# model loaded on a laptop's CPU (a 1.7B target is 6.8 GB in float32) keeps the default kernel.
PREPACK_UP_TO_BYTES = 2 * 1024**3


def pick_kernel(device: torch.device | str, dtype: torch.dtype, weight_bytes: int = 0,
                weight_devices: set[str] | None = None) -> str:
    """The kernel :func:`specviz.load_pair` uses unless told: a fixed rule, never a timing.

    "prepacked" on a CPU whose PyTorch has oneDNN, for models whose weights take at most
    :data:`PREPACK_UP_TO_BYTES` (the packed copy doubles them) and all lie on ``device``;
    "default" elsewhere (GPUs run their own libraries' kernels; a device map that put weights
    on other devices or offloaded them to "meta" keeps the kernel that runs wherever they are). The same hardware and model always get the same kernel,
    so the same command writes the same text. Why prepacked: on the 2-core Xeon the default
    pair was measured on, a float32 verify pass over 6 tokens costs 1.35 one-token steps
    with it against 1.59 with the default kernel, and the one-token step no more
    (``bench/pass_profile.py``, ``docs/measurements.md``).

    >>> pick_kernel("cuda", torch.bfloat16)
    'default'
    >>> pick_kernel("cpu", torch.float32, weight_bytes=540_000_000) == (
    ...     "prepacked" if available("prepacked") else "default")
    True
    >>> pick_kernel("cpu", torch.float32, weight_bytes=6_800_000_000)
    'default'
    >>> pick_kernel("cpu", torch.float32, weight_bytes=1_000, weight_devices={"cpu", "meta"})
    'default'
    """
    elsewhere = set(weight_devices or ()) - {torch.device(device).type}
    if elsewhere or not available("prepacked", device) or weight_bytes > PREPACK_UP_TO_BYTES:
        return "default"
    return "prepacked"


def kernel_of(model: nn.Module) -> str:
    """The kernel ``model``'s linear layers run ("default" unless :func:`use_kernel` set one)."""
    return getattr(model, "specviz_kernel", "default")
