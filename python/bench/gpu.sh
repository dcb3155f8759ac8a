#!/usr/bin/env bash
# The GPU checks, as one command for a lent device machine (one H200; no network there): the CUDA-only
# tests (2:4 semi-structured weights, the device path on CUDA tensors, a model moved to the GPU mid-run)
# and the overhead table on ResNet-50 bs256 bf16 and GPT-2 124M beside TensorBoard (wandb is not installed there: its row is left
# out). It uses that machine's own torch, torchvision, transformers, tensorboard and pytest; the profiler
# runs from this checkout. Output also lands in $OUT when the device tool sets it.
#   run: bash python/bench/gpu.sh      (about 6 minutes; give the device tool a timeout of 540 s)
set -uo pipefail
cd "$(dirname "$0")/../.."
export PYTHONPATH="$PWD/python/src" PYTHONUNBUFFERED=1 CUBLAS_WORKSPACE_CONFIG=:4096:8
log="${OUT:-/tmp}/gpu.txt"
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | tee "$log"
python3 -m pytest -q -p no:cacheprovider python/tests/test_mask_sources.py python/tests/test_device_path.py python/tests/test_model_changes.py 2>&1 | tail -3 | tee -a "$log"
python3 python/bench/overhead.py --device cuda --workloads resnet50 gpt2 --rounds 5 --steps 30 --no-null 2>&1 | tee -a "$log"
