import { expect, test } from 'vitest'
import { RunStore } from '@sparselab-profiler/core'
import { createApp } from './createApp.js'
import { dashboardRoutes } from './dashboardRoutes.js'

const assets = { html: '<!doctype html><title>dashboard</title>', script: 'console.log("dashboard")' }

test('serves the page, its script uncached, and an empty favicon', async () => {
  const routes = dashboardRoutes(assets)
  const page = await routes.request('/')
  expect([page.status, page.headers.get('Content-Type'), await page.text()]).toEqual([200, 'text/html; charset=UTF-8', assets.html])
  const script = await routes.request('/assets/dashboard.js')
  expect([script.status, script.headers.get('Content-Type'), script.headers.get('Cache-Control'), await script.text()]).toEqual([
    200,
    'text/javascript; charset=utf-8',
    'no-cache',
    assets.script,
  ])
  const favicon = await routes.request('/favicon.ico')
  expect([favicon.status, await favicon.text()]).toEqual([204, ''])
})

test('an app without dashboard assets answers 404 on all three', async () => {
  const app = createApp({ store: new RunStore() })
  for (const path of ['/', '/assets/dashboard.js', '/favicon.ico']) expect([path, (await app.request(path)).status]).toEqual([path, 404])
})
