import { expect, test } from 'vitest'
import { RunStore } from '@sparselab-profiler/core'
import { ingestRoutes } from './ingestRoutes.js'
import { VALID_LINES as lines, VECTOR_RUN as RUN } from '../../../test/support/vectors.js'


function setup() {
  const store = new RunStore({ now: () => 1_000_000 })
  const routes = ingestRoutes({ store })
  const ingest = (body: string, query = '') => routes.request(`/${query}`, { method: 'POST', body, headers: { 'Content-Type': 'application/x-ndjson' } })
  return { store, ingest }
}

test('?run= makes only an empty body a heartbeat: a batch with records is stored whatever it names', async () => {
  const { ingest, store } = setup()
  const response = await ingest(lines.slice(0, 2).join('\n'), '?run=../x')
  expect([response.status, await response.json()]).toEqual([200, { acks: { [RUN]: 1 } }])
  expect(store.ack(RUN)).toBe(1)
})

test('a body of blank lines is a heartbeat too; of repeated ?run= the first counts', async () => {
  const { ingest } = setup()
  await ingest(lines.slice(0, 3).join('\n'))
  expect(await (await ingest(' \n\n', `?run=${RUN}`)).json()).toEqual({ acks: { [RUN]: 2 } })
  expect(await (await ingest('', `?run=${RUN}&run=../x`)).json()).toEqual({ acks: { [RUN]: 2 } })
  const refused = await ingest('', `?run=../x&run=${RUN}`)
  expect([refused.status, await refused.json()]).toEqual([400, { error: 'query parameter "run" must be a run id, got "../x"' }])
})
