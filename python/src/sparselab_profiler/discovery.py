"""Finds the weights worth profiling in a model and the mask source that describes each one."""

from __future__ import annotations

import re
from typing import Optional

import torch
from torch import nn

from .sources import (
    DenseWeightSource,
    LayerSource,
    NativeSparseSource,
    ParametrizedMaskSource,
    RigLTorchSource,
    SemiStructuredSource,
    SparseLabLayerSource,
    TorchPruneSource,
    is_native_sparse,
    is_pruned,
    is_semi_structured,
    is_sparselab_layer,
    mask_parametrization,
    rigl_torch_hook,
)

_DENSE_WEIGHTED = (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d)


def source_for(name: str, module: nn.Module) -> Optional[LayerSource]:
    """The most specific mask source for `module.weight`, or None when it is not worth profiling."""
    if is_sparselab_layer(module):
        return SparseLabLayerSource(name, module)
    if mask_parametrization(module) is not None:
        return ParametrizedMaskSource(name, module)
    if is_pruned(module):
        return TorchPruneSource(name, module)
    weight = getattr(module, "weight", None)
    hook = rigl_torch_hook(weight)
    if hook is not None:
        return RigLTorchSource(name, module, hook)
    if is_native_sparse(weight):
        return NativeSparseSource(name, module)
    if is_semi_structured(weight):
        return SemiStructuredSource(name, module)
    if isinstance(module, _DENSE_WEIGHTED) and isinstance(weight, torch.Tensor):
        return DenseWeightSource(name, module)
    return None


def discover_layers(model: nn.Module, layer_regex: Optional[str] = None, exclude_regex: Optional[str] = None) -> list[LayerSource]:
    """A source for every module whose qualified name matches `layer_regex` (all when None) and not `exclude_regex`."""
    include = re.compile(layer_regex) if layer_regex else None
    exclude = re.compile(exclude_regex) if exclude_regex else None
    sources: list[LayerSource] = []
    for name, module in model.named_modules():
        name = name or type(module).__name__
        if (include and not include.search(name)) or (exclude and exclude.search(name)):
            continue
        source = source_for(name, module)
        if source is not None:
            sources.append(source)
    return sources
