import { appendFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { describe, expect, test } from 'vitest'
import { startServer } from './startServer.js'
import { VALID_LINES as lines, VECTOR_RUN as RUN } from '../../../test/support/vectors.js'

test('refuses to listen beyond loopback without a token', async () => {
  await expect(startServer({ host: '0.0.0.0', port: 0, logdir: '/nonexistent' })).rejects.toThrow(
    'refusing to listen on 0.0.0.0 without a token: pass --token so only people who have it can read or send runs',
  )
})

test('listens on loopback without one, and on any address with one', async () => {
  for (const options of [{ host: '127.0.0.1' }, { host: '0.0.0.0', token: 's3cret' }]) {
    const server = await startServer({ ...options, port: 0, logdir: '/nonexistent' })
    const response = await fetch(`http://127.0.0.1:${server.port}/api/runs`, { headers: { Authorization: 'Bearer s3cret' } })
    expect(response.status).toBe(200)
    await server.close()
  }
})

describe('runs survive a restart', () => {
  const ingest = (server: { url: string }, from: number, to: number) =>
    fetch(`${server.url}/api/ingest`, { method: 'POST', headers: { 'Content-Type': 'application/x-ndjson' }, body: lines.slice(from, to + 1).join('\n') })

  test('every record acked is in <logdir>/<run>/received.ndjson, and a restarted server holds the run again', async () => {
    const logdir = mkdtempSync(join(tmpdir(), 'slp-restart-'))
    let server = await startServer({ port: 0, logdir })
    expect(await (await ingest(server, 0, 3)).json()).toEqual({ acks: { [RUN]: 3 } })
    expect(readFileSync(join(logdir, RUN, 'received.ndjson'), 'utf8')).toBe(`${lines.slice(0, 4).join('\n')}\n`)
    await server.close()

    server = await startServer({ port: 0, logdir })
    expect(server.store.ack(RUN)).toBe(3)
    expect(await (await ingest(server, 0, lines.length - 1)).json()).toEqual({ acks: { [RUN]: lines.length - 1 } }) // a resend overlapping what it has
    expect(readFileSync(join(logdir, RUN, 'received.ndjson'), 'utf8')).toBe(`${lines.join('\n')}\n`)
    expect(readdirSync(join(logdir, RUN))).toEqual(['received.ndjson'])
    await server.close()
  })

  test("a run whose trainer logs into the server's logdir is kept once, in the trainer's records.ndjson", async () => {
    const logdir = mkdtempSync(join(tmpdir(), 'slp-shared-'))
    const trainerLog = join(logdir, RUN, 'records.ndjson')
    mkdirSync(join(logdir, RUN))
    writeFileSync(trainerLog, `${lines.slice(0, 4).join('\n')}\n`) // the trainer writes each line before its sender sends it
    let server = await startServer({ port: 0, logdir })
    expect(await (await ingest(server, 0, 3)).json()).toEqual({ acks: { [RUN]: 3 } })
    await server.close()

    server = await startServer({ port: 0, logdir })
    expect(server.store.ack(RUN)).toBe(3)
    appendFileSync(trainerLog, `${lines.slice(4).join('\n')}\n`)
    expect(await (await ingest(server, 4, lines.length - 1)).json()).toEqual({ acks: { [RUN]: lines.length - 1 } })
    expect(readdirSync(join(logdir, RUN))).toEqual(['records.ndjson'])
    await server.close()
  })

  test('a journal that cannot be written answers 500 naming it, and nothing is stored or acked', async () => {
    const logdir = mkdtempSync(join(tmpdir(), 'slp-unwritable-'))
    const file = join(resolve(logdir), RUN, 'received.ndjson')
    mkdirSync(file, { recursive: true }) // chmod cannot stop root; a directory in the file's place stops anyone
    const server = await startServer({ port: 0, logdir })
    const response = await ingest(server, 0, 3)
    expect(response.status).toBe(500)
    expect(await response.json()).toEqual({ error: `internal error: cannot open ${file}: EISDIR: illegal operation on a directory, open '${file}'` })
    expect(await (await fetch(`${server.url}/api/runs`)).json()).toEqual({ runs: [] })

    rmdirSync(file) // once the disk takes writes again, the sender's resend goes through
    expect(await (await ingest(server, 0, 3)).json()).toEqual({ acks: { [RUN]: 3 } })
    expect(readFileSync(file, 'utf8')).toBe(`${lines.slice(0, 4).join('\n')}\n`)
    await server.close()
  })
})
