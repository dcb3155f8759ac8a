"""SparsityProfilerCallback for the Hugging Face `transformers.Trainer`."""

from __future__ import annotations

from typing import Any

from transformers import TrainerCallback

from ..callback import SparsityProfilerCallback as Profiler


class SparsityProfilerCallback(TrainerCallback):
    """Samples every `every` optimizer steps (`state.global_step`); only the main process records.

    Each `trainer.train()` is a run of its own. `on_step_end` runs after the optimizer step and after `zero_grad`, which is where a SparseLab
    algorithm is stepped when `step_algorithm=True`.
    """

    def __init__(self, algorithm: Any = None, step_algorithm: bool = False, **profiler_options: Any):
        self.algorithm = algorithm
        self.step_algorithm = step_algorithm
        self._options = profiler_options
        self.profiler = Profiler(**profiler_options)  # options are checked now, not at train()

    def on_train_begin(self, args, state, control, model=None, **kwargs):
        if self.profiler.attached:  # a second trainer.train() is a new run
            self.profiler.close("finished")
            self.profiler = Profiler(**self._options)
        if state.is_world_process_zero and model is not None:
            self.profiler.attach(model, algorithm=self.algorithm)
            self.profiler.follow_step_counter(lambda: state.global_step)

    def on_step_end(self, args, state, control, **kwargs):
        if self.step_algorithm and self.algorithm is not None:
            self.algorithm.step()
        if state.is_world_process_zero:
            self.profiler.step(state.global_step)

    def on_train_end(self, args, state, control, **kwargs):
        self.profiler.close("finished")
