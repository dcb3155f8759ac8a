import { expect, test } from 'vitest'
import { startServer } from './startServer.js'

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
