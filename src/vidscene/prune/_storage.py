"""Compact storage of N:M-sparse weights (2:4 by default) in safetensors.

A 2:4 weight keeps 2 values in every group of 4 along each row. Stored as the kept values
(half the entries, same dtype) plus their positions inside the group, ``ceil(log2 M)`` bits each
(2 bits for 2:4), bit-packed into ``uint8``: 2:4 costs 50 % of the dense values plus 1 bit per
original weight, ~53 % of a dense float32 file and ~56 % of a float16 one. Loading rebuilds
dense tensors on the CPU; on a CUDA GPU with compute capability ≥ 8.0,
:func:`to_semi_structured` then hands linear weights to PyTorch's sparse tensor-core format
(``torch.sparse.to_sparse_semi_structured``).

The file's ``__metadata__`` says which tensors are packed (name → shape, dtype, N, M); every
other tensor is stored as it is.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch
from safetensors.torch import load_file, save_file
from torch import Tensor, nn

from vidscene.errors import ConfigError

__all__ = ["PACKED_KEY", "load_packed", "pack_nm", "pack_state", "save_packed",
           "to_semi_structured", "unpack_nm", "unpack_state"]

PACKED_KEY = "vidscene.packed"
"""Safetensors metadata key of the packing layout (JSON: name → shape, N, M)."""


def _bits(m: int) -> int:
    return max(1, math.ceil(math.log2(m)))


def pack_nm(weight: Tensor, n: int = 2, m: int = 4) -> tuple[Tensor, Tensor]:
    """``(values, positions)`` of an N:M-sparse ``(rows, cols)`` weight: values ``(rows,
    cols // m * n)`` in the weight's dtype, positions bit-packed ``uint8``. ``ConfigError`` if
    a group holds more than ``n`` non-zeros (the weight is not N:M)."""
    if weight.ndim != 2 or weight.shape[1] % m:
        raise ConfigError(f"cannot pack shape {tuple(weight.shape)} as {n}:{m}")
    rows, cols = weight.shape
    groups = weight.detach().cpu().reshape(rows, cols // m, m)
    if int((groups != 0).sum(dim=2).max()) > n:
        raise ConfigError(f"weight is not {n}:{m} sparse (a group has more than {n} non-zeros)")
    # The n largest magnitudes of each group hold every non-zero; positions sorted ascending.
    positions = groups.abs().topk(n, dim=2).indices.sort(dim=2).values
    values = groups.gather(2, positions).reshape(rows, -1).contiguous()
    b = _bits(m)
    flat = positions.reshape(-1).numpy().astype(np.uint8)
    bits = (flat[:, None] >> np.arange(b - 1, -1, -1, dtype=np.uint8)) & 1
    return values, torch.from_numpy(np.packbits(bits.reshape(-1)))


def unpack_nm(values: Tensor, positions: Tensor, shape: tuple[int, int], n: int = 2,
              m: int = 4) -> Tensor:
    """The dense weight of :func:`pack_nm`'s output."""
    rows, cols = shape
    count = rows * (cols // m) * n
    b = _bits(m)
    bits = np.unpackbits(positions.numpy())[: count * b].reshape(count, b)
    pos = (bits.astype(np.int64) << np.arange(b - 1, -1, -1)).sum(axis=1)
    index = torch.from_numpy(pos).reshape(rows, cols // m, n)
    dense = torch.zeros(rows, cols // m, m, dtype=values.dtype)
    dense.scatter_(2, index, values.reshape(rows, cols // m, n))
    return dense.reshape(rows, cols)


def pack_state(state: Mapping[str, Tensor], packed: Mapping[str, tuple[int, int]]
               ) -> tuple[dict[str, Tensor], dict[str, dict[str, object]]]:
    """``(tensors, layout)`` to write to safetensors: the tensors named in ``packed`` (name →
    (N, M)) replaced by their :func:`pack_nm` values and positions, ``layout`` saying how to
    undo it (:func:`unpack_state`)."""
    tensors: dict[str, Tensor] = {}
    layout: dict[str, dict[str, object]] = {}
    for name, tensor in state.items():
        if name in packed:
            n, m = packed[name]
            values, positions = pack_nm(tensor, n, m)
            tensors[f"{name}.nm_values"] = values
            tensors[f"{name}.nm_positions"] = positions
            layout[name] = {"shape": list(tensor.shape), "n": n, "m": m}
        else:
            tensors[name] = tensor.detach().cpu().contiguous()
    return tensors, layout


def unpack_state(raw: Mapping[str, Tensor], layout: Mapping[str, Any]) -> dict[str, Tensor]:
    """The dense state dict of :func:`pack_state`'s ``(tensors, layout)``."""
    state = {k: v for k, v in raw.items()
             if not k.endswith((".nm_values", ".nm_positions"))}
    for name, spec in layout.items():
        rows, cols = spec["shape"]
        state[name] = unpack_nm(raw[f"{name}.nm_values"], raw[f"{name}.nm_positions"],
                                (rows, cols), spec["n"], spec["m"])
    return state


def save_packed(state: dict[str, Tensor], path: Path, packed: dict[str, tuple[int, int]],
                metadata: dict[str, str] | None = None) -> None:
    """Write ``state`` to ``path`` with the tensors named in ``packed`` (name → (N, M)) stored
    as :func:`pack_nm` values and positions."""
    tensors, layout = pack_state(state, packed)
    meta = dict(metadata or {})
    meta[PACKED_KEY] = json.dumps(layout, sort_keys=True)
    save_file(tensors, str(path), metadata=meta)


def load_packed(path: Path) -> dict[str, Tensor]:
    """The dense state dict of a :func:`save_packed` file (plain safetensors load too)."""
    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as handle:
        layout = json.loads((handle.metadata() or {}).get(PACKED_KEY, "{}"))
    return unpack_state(load_file(str(path)), layout)


def to_semi_structured(model: nn.Module) -> int:
    """Convert every 2:4-sparse ``nn.Linear`` weight of a CUDA model to PyTorch's semi-structured
    sparse format (sparse tensor cores); returns how many were converted. Needs a CUDA GPU of
    compute capability 8.0 or newer and half-precision weights; elsewhere ``ConfigError``."""
    if not torch.cuda.is_available():
        raise ConfigError("semi-structured sparsity needs a CUDA GPU")
    major, _ = torch.cuda.get_device_capability()
    if major < 8:
        raise ConfigError("semi-structured sparsity needs compute capability 8.0 or newer")
    from torch.sparse import to_sparse_semi_structured

    from vidscene.prune._apply import check_nm

    converted = 0
    for module in model.modules():
        if isinstance(module, nn.Linear) and module.weight.is_cuda \
                and check_nm(module.weight, 2, 4):
            module.weight = nn.Parameter(to_sparse_semi_structured(module.weight.detach()))
            converted += 1
    return converted
