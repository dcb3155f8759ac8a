import { Hono } from 'hono'

/** The page and script that `GET /` serves; supplied by the bundle so the server does not depend on the UI. */
export interface DashboardAssets {
  html: string
  script: string
}

/**
 * `GET /` the dashboard page, `GET /assets/dashboard.js` its script, `GET /favicon.ico` nothing (204),
 * so the browser's automatic request leaves no 404 in its console.
 * @example app.route('/', dashboardRoutes({ html, script }))
 */
export function dashboardRoutes(assets: DashboardAssets) {
  return new Hono()
    .get('/', (c) => c.html(assets.html))
    .get('/favicon.ico', (c) => c.body(null, 204))
    .get('/assets/dashboard.js', (c) => {
      c.header('Content-Type', 'text/javascript; charset=utf-8')
      c.header('Cache-Control', 'no-cache')
      return c.body(assets.script)
    })
}
