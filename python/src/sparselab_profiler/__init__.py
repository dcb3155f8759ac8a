"""SparseLab Profiler: live per-layer sparsity diagnostics for sparse PyTorch training."""

__version__ = "0.1.0"

from .callback import SparsityProfilerCallback  # noqa: E402  (callback records __version__)

__all__ = ["SparsityProfilerCallback", "__version__"]
