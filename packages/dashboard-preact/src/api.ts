import type { ReportSection } from '@sparselab-profiler/core'

export function authHeaders(token?: string): Record<string, string> {
  return token ? { Authorization: `Bearer ${token}` } : {}
}

/** Asks the server for the report and saves it under the name it suggests (or `fileName`). */
export async function downloadReport(options: {
  url: string
  run: string
  title: string
  sections: readonly ReportSection[]
  fileName: string
  token?: string
}): Promise<void> {
  const response = await fetch(`${options.url}/export`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', ...authHeaders(options.token) },
    body: JSON.stringify({ run: options.run, title: options.title, sections: options.sections }),
  })
  if (!response.ok) throw new Error(((await response.json()) as { error?: string }).error ?? `export answered ${response.status}`)
  const link = document.createElement('a')
  link.href = URL.createObjectURL(await response.blob())
  link.download = options.fileName
  link.click()
  setTimeout(() => URL.revokeObjectURL(link.href), 10_000)
}
