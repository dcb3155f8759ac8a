import { mkdtempSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { expect, test } from 'vitest'
import { netrcPassword, wandbSettings } from './wandbSettings.js'

const home = () => mkdtempSync(join(tmpdir(), 'wandb-home-'))

test('the key comes from WANDB_API_KEY first, then the netrc entry of the base URL host', () => {
  const dir = home()
  writeFileSync(join(dir, '.netrc'), 'machine api.wandb.ai\n  login user\n  password from-netrc\nmachine wandb.lab.example login user password lab-key\n')
  expect(wandbSettings({ WANDB_API_KEY: 'from-env' }, dir)).toEqual({ baseUrl: 'https://api.wandb.ai', apiKey: 'from-env', entity: undefined })
  expect(wandbSettings({}, dir).apiKey).toBe('from-netrc')
  expect(wandbSettings({ WANDB_BASE_URL: 'https://wandb.lab.example/', WANDB_ENTITY: 'team' }, dir)).toEqual({ baseUrl: 'https://wandb.lab.example', apiKey: 'lab-key', entity: 'team' })
  const other = join(home(), 'netrc')
  writeFileSync(other, 'default login user password fallback')
  expect(wandbSettings({ NETRC: other, WANDB_BASE_URL: 'http://127.0.0.1:9000' }, dir).apiKey).toBe('fallback')
})

test('no key, or a base URL that is not one, says what to do', () => {
  expect(() => wandbSettings({}, home())).toThrow(/no W&B API key for api\.wandb\.ai: set WANDB_API_KEY, or run `wandb login` \(it writes .*\.netrc\)/)
  expect(() => wandbSettings({ WANDB_BASE_URL: 'wandb.lab' }, home())).toThrow('WANDB_BASE_URL is not a URL: "wandb.lab"')
})

test('netrc: the first password of the machine wins; login and account values are not keys', () => {
  expect(netrcPassword('machine h login password password real machine h password later', 'h')).toBe('real')
  expect(netrcPassword('machine other password x', 'h')).toBeUndefined()
  expect(netrcPassword(undefined, 'h')).toBeUndefined()
})
