"""Trainer integrations: the same profiler as a Lightning or Hugging Face callback.

    from sparselab_profiler.integrations.lightning import SparsityProfilerCallback          # lightning.pytorch
    from sparselab_profiler.integrations.pytorch_lightning import SparsityProfilerCallback  # pytorch_lightning
    from sparselab_profiler.integrations.transformers import SparsityProfilerCallback       # HF Trainer

Each takes the profiler's own options plus ``algorithm`` (a SparseLab SET/RigL/Static to hook) and
``step_algorithm`` (call ``algorithm.step()`` after every optimizer step, for trainers whose loop you
do not write). Importing one imports its trainer library; the others stay unimported.
"""
