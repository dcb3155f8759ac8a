"""SparsityProfilerCallback for the Hugging Face `transformers.Trainer`."""

from __future__ import annotations

from typing import Any, Optional

from transformers import TrainerCallback

from ..callback import SparsityProfilerCallback as Profiler


class SparsityProfilerCallback(TrainerCallback):
    """Samples every `every` optimizer steps (`state.global_step`); only the main process records.

    Each `trainer.train()` is a run of its own. `on_step_end` runs after the optimizer step and after `zero_grad`, which is where a SparseLab
    algorithm is stepped when `step_algorithm=True`.

    The Trainer's logs carry the training scalars: `loss` (averaged over the steps since the previous log),
    `grad_norm`, `learning_rate`, evaluation metrics. A step the Trainer logs at (`control.should_log`, which
    its flow callback, always called first, has set by then) is passed to the profiler from `on_log`, which
    follows `on_step_end` at the same step, with those logs; so the loss logged at step k is the sample's at
    step k. Logs that come at no step's end (at the end of an epoch, an evaluation's) go with the next step.
    """

    def __init__(self, algorithm: Any = None, step_algorithm: bool = False, **profiler_options: Any):
        self.algorithm = algorithm
        self.step_algorithm = step_algorithm
        self._options = profiler_options
        self.profiler = Profiler(**profiler_options)  # options are checked now, not at train()
        self._waiting: Optional[int] = None  # a step that waits for its logs
        self._scalars: dict[str, float] = {}

    def on_train_begin(self, args, state, control, model=None, **kwargs):
        if self.profiler.attached:  # a second trainer.train() is a new run
            self.profiler.close("finished")
            self.profiler = Profiler(**self._options)
        self._waiting, self._scalars = None, {}
        if state.is_world_process_zero and model is not None:
            self.profiler.attach(model, algorithm=self.algorithm)
            self.profiler.follow_step_counter(lambda: state.global_step)

    def on_step_end(self, args, state, control, **kwargs):
        if self.step_algorithm and self.algorithm is not None:
            self.algorithm.step()
        if state.is_world_process_zero:
            self._step()  # one whose logs never came (a later callback cancelled them)
            self._waiting = state.global_step
            if not control.should_log:
                self._step()

    def on_log(self, args, state, control, logs=None, **kwargs):
        if not state.is_world_process_zero:
            return
        # numbers only; `epoch` says where the run is, as the step does; `step` and `self` name step()'s own arguments
        self._scalars.update({k: v for k, v in (logs or {}).items()
                              if isinstance(v, (int, float)) and not isinstance(v, bool) and k not in ("epoch", "step", "self")})
        self._step()

    def on_train_end(self, args, state, control, **kwargs):
        self._step()
        self.profiler.close("finished")

    def _step(self) -> None:
        if self._waiting is None:
            return
        step, self._waiting = self._waiting, None
        scalars, self._scalars = self._scalars, {}
        self.profiler.step(step, **scalars)
