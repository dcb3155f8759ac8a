import { expect, test } from 'vitest'
import { toWandbScalars } from './index.js'

test('maps a sample to W&B scalar names with exact values', () => {
  const hist = { lo: -1, hi: 1, counts: [1] }
  expect(
    toWandbScalars({
      type: 'sample', run: 'r', seq: 1, step: 10, time: 0, cost_ms: 0, step_ms: null,
      layers: [
        { name: 'fc1', nnz: 1638, numel: 16384, sparsity: 1 - 1638 / 16384, bytes: 16872, dense_bytes: 65536, hist, nonfinite: 0 },
        { name: 'head', nnz: 2560, numel: 2560, sparsity: 0, bytes: 10240, dense_bytes: 10240, hist, nonfinite: 0 },
      ],
    }),
  ).toEqual({
    'model/sparsity': 1 - 4198 / 18944,
    'model/nnz': 4198,
    'model/memory_saved_bytes': 48664,
    'sparsity/fc1': 1 - 1638 / 16384,
    'nnz/fc1': 1638,
    'sparsity/head': 0,
    'nnz/head': 2560,
  })
})
