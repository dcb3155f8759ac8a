"""SparseLab Profiler: live per-layer sparsity diagnostics for sparse PyTorch training."""

from .callback import SparsityProfilerCallback

__version__ = "0.1.0"
__all__ = ["SparsityProfilerCallback", "__version__"]
