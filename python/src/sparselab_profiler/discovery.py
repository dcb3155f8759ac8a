"""Finds the weights worth profiling in a model and the mask source that describes each one."""

from __future__ import annotations

import re
from typing import Optional

import torch
from torch import nn

from .sources import DenseWeightSource, LayerSource, SparseLabLayerSource
from .sources.sparselab_layer import is_sparselab_layer

_DENSE_WEIGHTED = (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d)


def discover_layers(model: nn.Module, layer_regex: Optional[str] = None) -> list[LayerSource]:
    """Every SparseLab layer and every Linear/Conv weight whose module name matches `layer_regex`."""
    pattern = re.compile(layer_regex) if layer_regex else None
    sources: list[LayerSource] = []
    for name, module in model.named_modules():
        name = name or type(module).__name__
        if pattern and not pattern.search(name):
            continue
        if is_sparselab_layer(module):
            sources.append(SparseLabLayerSource(name, module))
        elif isinstance(module, _DENSE_WEIGHTED) and isinstance(getattr(module, "weight", None), torch.Tensor):
            sources.append(DenseWeightSource(name, module.weight))
    return sources
