/** The part of `process` that says when `serve` should stop; tests pass a fake. */
export type StopHost = Pick<NodeJS.Process, 'env' | 'ppid' | 'once' | 'removeListener' | 'kill'>

export interface UntilStoppedOptions {
  /** Where the signals arrive and the parent process is looked up. @default process */
  host?: StopHost
  /** Milliseconds between two looks at the parent process (only when npm started this command). @default 500 */
  pollMs?: number
}

/** Why `serve` stops. */
export type StopReason = 'SIGINT' | 'SIGTERM' | 'npm exited'

const SIGNALS = ['SIGINT', 'SIGTERM'] as const

/**
 * Resolves once the server should stop: at SIGINT or SIGTERM, or, when npm started this command
 * (`npx sparselab-profiler serve`, an npm script), once npm's shell around it is gone.
 *
 * npm runs a bin through `sh -c`, and a signal sent to npm alone (a supervisor's `kill`, Python's
 * `Popen.terminate()`) ends npm and that shell while Debian's /bin/sh neither execs the command nor passes
 * the signal on: without the watch the server would keep serving, owned by no one. A server started any
 * other way (`nohup`, the Python launcher's detached start) keeps running when its parent exits.
 * @example console.log(`stopped: ${await untilStopped()}`)
 */
export function untilStopped(options: UntilStoppedOptions = {}): Promise<StopReason> {
  const host = options.host ?? process
  return new Promise((resolve) => {
    const handlers = SIGNALS.map((signal) => [signal, () => stop(signal)] as const)
    let timer: ReturnType<typeof setInterval> | undefined
    function stop(reason: StopReason) {
      for (const [signal, handler] of handlers) host.removeListener(signal, handler)
      clearInterval(timer)
      resolve(reason)
    }
    for (const [signal, handler] of handlers) host.once(signal, handler)
    if (!startedByNpm(host.env)) return
    const parent = host.ppid
    timer = setInterval(() => {
      if (host.ppid !== parent || !isRunning(host, parent)) stop('npm exited')
    }, options.pollMs ?? 500)
    timer.unref?.()
  })
}

/** Whether npm runs this CLI as its command: npm puts the command line it runs in `npm_lifecycle_script`. */
export function startedByNpm(env: Record<string, string | undefined>): boolean {
  return /^\s*["']?(?:\S*[\\/])?sparselab-profiler(?:\.js)?["']?(?:\s|$)/.test(env.npm_lifecycle_script ?? '')
}

function isRunning(host: StopHost, pid: number): boolean {
  try {
    host.kill(pid, 0)
    return true
  } catch (error) {
    // EPERM: it runs, under another user.
    return (error as NodeJS.ErrnoException).code === 'EPERM'
  }
}
