"""Mask sources: each file knows one way a model stores sparse weights, and reads it exactly."""

from .base import LayerSource
from .dense_weight import DenseWeightSource
from .native_sparse import NativeSparseSource, SemiStructuredSource, is_native_sparse, is_semi_structured
from .parametrized_mask import ParametrizedMaskSource, mask_parametrization
from .rigl_torch import RigLTorchSource, rigl_torch_hook
from .sparselab_layer import SparseLabLayerSource, is_sparselab_layer
from .torch_prune import TorchPruneSource, is_pruned

__all__ = [
    "LayerSource", "DenseWeightSource", "NativeSparseSource", "ParametrizedMaskSource", "RigLTorchSource",
    "SemiStructuredSource", "SparseLabLayerSource", "TorchPruneSource", "is_native_sparse", "is_pruned",
    "is_semi_structured", "is_sparselab_layer",
    "mask_parametrization", "rigl_torch_hook",
]
