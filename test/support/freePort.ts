import { createServer } from 'node:net'

/** A TCP port free on 127.0.0.1 right now: for a server a test starts later on a port it must know first. */
export function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number }
      server.close(() => resolve(port))
    })
  })
}
