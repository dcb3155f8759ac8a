"""Mask sources: each file knows one way a model stores sparse weights, and reads it exactly."""

from .base import LayerSource
from .dense_weight import DenseWeightSource
from .sparselab_layer import SparseLabLayerSource

__all__ = ["LayerSource", "DenseWeightSource", "SparseLabLayerSource"]
