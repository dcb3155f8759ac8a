"""SparsityProfilerCallback for `pytorch_lightning` trainers."""

from pytorch_lightning import Callback

from ._lightning_callback import lightning_callback_class

SparsityProfilerCallback = lightning_callback_class(Callback)

__all__ = ["SparsityProfilerCallback"]
