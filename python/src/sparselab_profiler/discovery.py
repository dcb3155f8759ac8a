"""Finds the weights worth profiling in a model, the mask source that reads each one, and follows the model as it changes."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Optional

import torch
from torch import nn

from .records import LayerInfo
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


def _detect(module: nn.Module) -> Optional[tuple]:
    """What `source_for` would build for `module`, without building it: the source class and the extra
    arguments that tell two sources of one class apart (a rigl-torch scheduler and its layer index)."""
    if is_sparselab_layer(module):
        return (SparseLabLayerSource,)
    if mask_parametrization(module) is not None:
        return (ParametrizedMaskSource,)
    if is_pruned(module):
        return (TorchPruneSource,)
    weight = _weight(module)
    if weight is None:
        return None
    hook = rigl_torch_hook(weight)
    if hook is not None:
        return (RigLTorchSource, hook)
    if is_native_sparse(weight):
        return (NativeSparseSource,)
    if is_semi_structured(weight):
        return (SemiStructuredSource,)
    if isinstance(module, _DENSE_WEIGHTED) and isinstance(weight, torch.Tensor):
        return (DenseWeightSource,)
    return None


def _weight(module: nn.Module) -> object:
    """`module.weight`, or None, looked up where nn.Module keeps it: its __getattr__ raises (and getattr catches) an
    AttributeError for every module without one, most of a model's (activations, containers, pools)."""
    weight = vars(module).get("weight")
    if weight is None:
        weight = module._parameters.get("weight")
    if weight is None:
        weight = module._buffers.get("weight")
    if weight is None and hasattr(type(module), "weight"):  # a property
        weight = getattr(module, "weight", None)
    return weight


def _kind_key(kind: tuple) -> tuple:
    if kind[0] is RigLTorchSource:
        return (RigLTorchSource, id(kind[1].scheduler), kind[1].layer)
    return kind


def source_for(name: str, module: nn.Module) -> Optional[LayerSource]:
    """The most specific mask source for `module.weight`, or None when it is not worth profiling."""
    kind = _detect(module)
    return None if kind is None else kind[0](name, module, *kind[1:])


def unwrap_compiled(model: nn.Module) -> nn.Module:
    """The module a `torch.compile` wrapper (OptimizedModule) compiles, so layer names carry no `_orig_mod.`."""
    inner = getattr(model, "_orig_mod", None)
    return inner if isinstance(inner, nn.Module) else model


@dataclass
class LayerChange:
    """A profiled layer whose storage changed (`info` is its new description) or that is no longer
    profiled (`info` is None), with the reason in words."""

    name: str
    info: Optional[LayerInfo]
    reason: str


_COMPARED = ("mask_source", "format", "dtype", "device", "shape", "aliases")


def _what_changed(old: LayerInfo, new: LayerInfo) -> str:
    return ", ".join(f"{field} {getattr(old, field)} → {getattr(new, field)}"
                     for field in _COMPARED if getattr(old, field) != getattr(new, field))


class LayerTracker:
    """The layers of a model worth profiling, each with the mask source that reads it, kept true while
    the model changes under the profiler.

    `refresh()` walks the model again (cheap: module attributes, no tensor data) and reports every layer
    whose storage changed since the last walk: pruning applied or removed, a mask parametrization added
    or squashed, another dtype or device, modules added or removed. Modules that share one weight
    (tied weights) are one layer, named after the first module; the others are its `aliases`.

    Example:
        >>> tracker = LayerTracker(model, layer_regex="^encoder")
        >>> prune.remove(model.encoder.fc, "weight")
        >>> tracker.refresh()
        [LayerChange(name='encoder.fc', info=LayerInfo(..., mask_source='inferred_zeros'), reason='mask_source ...')]
    """

    def __init__(self, model: nn.Module, layer_regex: Optional[str] = None, exclude_regex: Optional[str] = None):
        self.model = unwrap_compiled(model)
        self._include = re.compile(layer_regex) if layer_regex else None
        self._exclude = re.compile(exclude_regex) if exclude_regex else None
        self._selected: dict[str, bool] = {}
        self._kinds: dict[str, tuple] = {}  # layer name -> (id(module), kind key) its source was built for
        self.sources: list[LayerSource] = []
        #: names of every module the filters let through, profiled or not (for a warning when none is profiled)
        self.candidates: list[str] = []
        self.refresh()

    def _is_selected(self, name: str) -> bool:
        selected = self._selected.get(name)
        if selected is None:
            selected = self._selected[name] = not ((self._include and not self._include.search(name))
                                                   or (self._exclude and self._exclude.search(name)))
        return selected

    def refresh(self) -> list[LayerChange]:
        """Walks the model again; returns what changed since the last walk (nothing on an unchanged model)."""
        previous = {s.name: s for s in self.sources}
        found: list[LayerSource] = []
        kinds: dict[str, tuple] = {}
        names: list[str] = []
        # remove_duplicate=False: a module registered under two names is seen under both (tied as a whole)
        for name, module in self.model.named_modules(remove_duplicate=False):
            name = name or type(module).__name__
            names.append(name)
            if not self._is_selected(name):
                continue
            kind = _detect(module)
            if kind is None:
                continue
            key = (id(module), _kind_key(kind))
            source = previous.get(name)
            if source is None or self._kinds.get(name) != key:
                source = kind[0](name, module, *kind[1:])
            kinds[name] = key
            found.append(source)
        self.candidates = [n for n in names if self._is_selected(n)]
        present = set(names)

        owners: dict[object, LayerSource] = {}
        aliases: dict[str, list[str]] = {}
        layers: list[LayerSource] = []
        for source in found:
            owner = owners.setdefault(source.identity(), source)
            if owner is source:
                layers.append(source)
                aliases[source.name] = []
            else:
                aliases[owner.name].append(source.name)

        changes: list[LayerChange] = []
        for source in layers:
            info = source.describe()
            info.aliases = aliases[source.name]
            old = previous.get(source.name)
            if old is None:
                changes.append(LayerChange(source.name, info, f"joined the profiled layers ({info.format}, {info.mask_source})"))
            elif info != old.info:
                changes.append(LayerChange(source.name, info, _what_changed(old.info, info)))
            source.info = info
        kept = {s.name for s in layers}
        owner_of = {alias: owner for owner, names_ in aliases.items() for alias in names_}
        for name in previous:
            if name in kept:
                continue
            if name in owner_of:
                reason = f"now shares its weight with {owner_of[name]}, profiled there"
            elif name in present:
                reason = "no longer holds a weight the profiler can read"
            else:
                reason = "left the model"
            changes.append(LayerChange(name, None, reason))
        self.sources = layers
        self._kinds = {s.name: kinds[s.name] for s in layers}
        return changes
