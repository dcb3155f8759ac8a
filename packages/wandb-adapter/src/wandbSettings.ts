import { readFileSync } from 'node:fs'
import { homedir } from 'node:os'
import { join } from 'node:path'

export const DEFAULT_WANDB_BASE_URL = 'https://api.wandb.ai'

export interface WandbSettings {
  baseUrl: string
  apiKey: string
  /** `WANDB_ENTITY`, when set; otherwise the key's own entity is asked for. */
  entity: string | undefined
}

/**
 * Where and as whom to reach W&B, found as W&B's own clients find it: the base URL from `WANDB_BASE_URL`
 * (default `https://api.wandb.ai`), the key from `WANDB_API_KEY`, else from the netrc file (`NETRC`, default
 * `~/.netrc`, which `wandb login` writes) for the base URL's host.
 * @example wandbSettings(process.env) // { baseUrl: 'https://api.wandb.ai', apiKey: '…', entity: undefined }
 */
export function wandbSettings(env: Record<string, string | undefined>, home: string = homedir()): WandbSettings {
  const baseUrl = (env.WANDB_BASE_URL || DEFAULT_WANDB_BASE_URL).replace(/\/+$/, '')
  let host: string
  try {
    host = new URL(baseUrl).hostname
  } catch {
    throw new Error(`WANDB_BASE_URL is not a URL: ${JSON.stringify(baseUrl)}`)
  }
  const netrc = env.NETRC || join(home, '.netrc')
  const apiKey = env.WANDB_API_KEY || netrcPassword(readOptional(netrc), host)
  if (!apiKey) throw new Error(`no W&B API key for ${host}: set WANDB_API_KEY, or run \`wandb login\` (it writes ${netrc})`)
  return { baseUrl, apiKey, entity: env.WANDB_ENTITY || undefined }
}

/**
 * The password of `machine <host>` (or of `default`) in a netrc file's text.
 * @example netrcPassword('machine api.wandb.ai login user password abc', 'api.wandb.ai') // 'abc'
 */
export function netrcPassword(text: string | undefined, host: string): string | undefined {
  if (!text) return undefined
  const tokens = text.split(/\s+/).filter(Boolean)
  let machine: string | undefined
  const found = new Map<string, string>()
  for (let i = 0; i < tokens.length; i++) {
    const token = tokens[i]!
    if (token === 'machine') machine = tokens[++i]
    else if (token === 'default') machine = ''
    else if (token === 'macdef') break // a macro runs to a blank line; nothing W&B writes
    else if (token === 'password' && machine !== undefined && !found.has(machine)) found.set(machine, tokens[++i] ?? '')
    else if (token === 'login' || token === 'account') i++
  }
  return found.get(host) || found.get('') || undefined
}

function readOptional(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8')
  } catch {
    return undefined
  }
}
