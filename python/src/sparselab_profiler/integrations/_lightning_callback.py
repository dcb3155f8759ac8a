"""One Lightning callback body for both `lightning.pytorch` and `pytorch_lightning`, whose Callback
classes differ: a trainer rejects a callback built on the other one."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import torch

from ..callback import SparsityProfilerCallback as Profiler


def _batch_loss(outputs: Any) -> Any:
    """The loss `training_step` returned (Lightning hands it on as a tensor or under "loss"), if it is one."""
    loss = outputs.get("loss") if isinstance(outputs, Mapping) else outputs
    return loss if isinstance(loss, torch.Tensor) and loss.numel() == 1 else None


def lightning_callback_class(base: type) -> type:
    class SparsityProfilerCallback(base):
        """Samples every `every` optimizer steps (`trainer.global_step`), so gradient accumulation's
        micro-batches do not count as steps; only global rank 0 records. Each `trainer.fit()` is a run of
        its own; `profiler` is the current one. Each optimizer step passes its loss to the profiler: the sum
        of its micro-batches' losses, which Lightning divides by `accumulate_grad_batches` (summed on the
        device, never read per step)."""

        def __init__(self, algorithm: Any = None, step_algorithm: bool = False, **profiler_options: Any):
            super().__init__()
            self.algorithm = algorithm
            self.step_algorithm = step_algorithm
            self._options = profiler_options
            self.profiler = Profiler(**profiler_options)  # options are checked now, not at fit
            self._last_global_step = -1
            self._loss: Any = None  # of the optimizer step under way

        def on_fit_start(self, trainer, pl_module) -> None:
            self._last_global_step = trainer.global_step
            self._loss = None
            if self.profiler.attached:  # a second fit (fine-tuning, a re-run notebook cell) is a new run
                self.profiler.close("finished")
                self.profiler = Profiler(**self._options)
            if trainer.is_global_zero:
                self.profiler.attach(pl_module, algorithm=self.algorithm)
                self.profiler.follow_step_counter(lambda: trainer.global_step)

        def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
            loss = _batch_loss(outputs) if trainer.is_global_zero else None
            if loss is not None:
                self._loss = loss if self._loss is None else self._loss + loss.to(self._loss.device)
            if trainer.global_step == self._last_global_step:
                return  # a micro-batch of gradient accumulation: no optimizer step yet
            self._last_global_step = trainer.global_step
            if self.step_algorithm and self.algorithm is not None:
                self.algorithm.step()
            if trainer.is_global_zero:
                loss, self._loss = self._loss, None
                self.profiler.step(trainer.global_step, loss=loss)

        def on_fit_end(self, trainer, pl_module) -> None:
            self.profiler.close("finished")

        def on_exception(self, trainer, pl_module, exception: BaseException) -> None:
            self.profiler.close("interrupted" if isinstance(exception, KeyboardInterrupt) else "crashed")

    return SparsityProfilerCallback
