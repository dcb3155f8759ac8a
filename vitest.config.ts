import { existsSync, readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { defineConfig } from 'vitest/config'

// Unit tests run against sources: each workspace package's name resolves to its src/index.ts, so
// `vitest run --project unit` needs no build and tests what is in the tree. End-to-end tests import the
// built packages (their package.json `exports`), as users do.
const root = new URL('./', import.meta.url)
const readJson = (path: string) => JSON.parse(readFileSync(new URL(path, root), 'utf8'))
const sources = (readJson('package.json').workspaces as string[]).flatMap((dir) => {
  const entry = new URL(`${dir}/src/index.ts`, root)
  if (!existsSync(entry)) return []
  const name = readJson(`${dir}/package.json`).name as string
  return [{ find: new RegExp(`^${name.replace(/[/.]/g, '\\$&')}$`), replacement: fileURLToPath(entry) }]
})

export default defineConfig({
  test: {
    projects: [
      { resolve: { alias: sources }, test: { name: 'unit', include: ['packages/*/src/**/*.test.{ts,tsx}'] } },
      {
        test: {
          name: 'e2e',
          include: ['test/**/*.test.ts'],
          testTimeout: 180_000,
          hookTimeout: 180_000,
          fileParallelism: false,
        },
      },
    ],
  },
})
