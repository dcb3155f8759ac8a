/**
 * The few calls of W&B's HTTP API a companion run needs, written against the API itself (the npm `@wandb/sdk`
 * is unmaintained and has neither histograms nor files): GraphQL at `<base>/graphql` to create the run, ask for
 * upload URLs and send alerts, the run's file stream at `<base>/files/<entity>/<project>/<run>/file_stream` for
 * its history and summary lines, and a plain PUT to each upload URL. Every request authenticates as W&B's own
 * clients do, with HTTP Basic `api:<key>`.
 */

/** A failed call: `retryable` for 429, 5xx and a connection that failed, where the same call may succeed later. */
export class WandbError extends Error {
  readonly status: number | undefined
  readonly retryable: boolean
  /** Seconds the server asked to wait (a 429's `Retry-After`). */
  readonly retryAfter: number | undefined

  constructor(message: string, options: { status?: number; retryable: boolean; retryAfter?: number; cause?: unknown }) {
    super(message, { cause: options.cause })
    this.name = 'WandbError'
    this.status = options.status
    this.retryable = options.retryable
    this.retryAfter = options.retryAfter
  }
}

export interface WandbApiOptions {
  /** W&B's API, e.g. `https://api.wandb.ai` or a W&B Server's address. */
  baseUrl: string
  apiKey: string
  /** @default 30_000 */
  timeoutMs?: number
  /** @default globalThis.fetch */
  fetch?: typeof fetch
}

export interface RunIdentity {
  entity: string
  project: string
  /** The run id: the last part of the run's URL. */
  name: string
}

/** A run as `upsertRun` found or made it. */
export interface UpsertedRun extends RunIdentity {
  /** History rows the run holds already (0 for a new run). */
  historyLineCount: number
}

export interface UpsertRunInput {
  entity?: string
  project: string
  name: string
  displayName?: string
  group?: string
  jobType?: string
  notes?: string
  tags?: string[]
  /** The run config, as plain values (wrapped into W&B's `{key: {value}}` form here). */
  config?: Record<string, unknown>
}

/** One request to a run's file stream: lines appended to files at their offsets, and at the end `complete`. */
export interface FileStreamBody {
  files?: Record<string, { offset: number; content: string[] }>
  complete?: boolean
  exitcode?: number
  uploaded?: string[]
}

export type AlertSeverity = 'INFO' | 'WARN' | 'ERROR'

const UPSERT_RUN = `mutation UpsertBucket($id: String, $name: String, $project: String, $entity: String, $groupName: String, $displayName: String, $notes: String, $config: JSONString, $jobType: String, $tags: [String!]) {
  upsertBucket(input: {id: $id, name: $name, modelName: $project, entityName: $entity, groupName: $groupName, displayName: $displayName, notes: $notes, config: $config, jobType: $jobType, tags: $tags}) {
    bucket { id name historyLineCount project { name entity { name } } }
    inserted
  }
}`

const VIEWER = `query Viewer { viewer { entity } }`

const CREATE_RUN_FILES = `mutation CreateRunFiles($entity: String!, $project: String!, $run: String!, $files: [String!]!) {
  createRunFiles(input: {entityName: $entity, projectName: $project, runName: $run, files: $files}) {
    runID
    uploadHeaders
    files { name uploadUrl }
  }
}`

const ALERT = `mutation NotifyScriptableRunAlert($entityName: String!, $projectName: String!, $runName: String!, $title: String!, $text: String!, $severity: AlertSeverity = INFO) {
  notifyScriptableRunAlert(input: {entityName: $entityName, projectName: $projectName, runName: $runName, title: $title, text: $text, severity: $severity}) {
    success
  }
}`

/**
 * @example
 * const api = new WandbApi({ baseUrl: 'https://api.wandb.ai', apiKey })
 * const run = await api.upsertRun({ project: 'sparse', name: 'abc123', group: 'resnet-rigl' })
 * await api.fileStream(run, { files: { 'wandb-history.jsonl': { offset: 0, content: ['{"_step":0}'] } } })
 */
export class WandbApi {
  readonly baseUrl: string
  readonly #authorization: string
  readonly #timeoutMs: number
  readonly #fetch: typeof fetch

  constructor(options: WandbApiOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, '')
    this.#authorization = `Basic ${btoa(`api:${options.apiKey}`)}`
    this.#timeoutMs = options.timeoutMs ?? 30_000
    this.#fetch = options.fetch ?? globalThis.fetch
  }

  /** The entity (user or team) the key belongs to: where runs go when none is named. */
  async viewerEntity(): Promise<string> {
    const data = await this.graphql<{ viewer: { entity: string } | null }>('Viewer', VIEWER, {})
    if (!data.viewer?.entity) throw new WandbError(`W&B at ${this.baseUrl} knows no entity for this API key: pass an entity`, { retryable: false })
    return data.viewer.entity
  }

  /** Creates the run, or updates it when it exists (W&B's `upsertBucket`). */
  async upsertRun(input: UpsertRunInput): Promise<UpsertedRun> {
    const config = input.config && Object.fromEntries(Object.entries(input.config).map(([key, value]) => [key, { value }]))
    const data = await this.graphql<{ upsertBucket: { bucket: { name: string; historyLineCount: number | null; project: { name: string; entity: { name: string } } } } }>('UpsertBucket', UPSERT_RUN, {
      name: input.name,
      project: input.project,
      entity: input.entity,
      groupName: input.group,
      displayName: input.displayName,
      notes: input.notes,
      jobType: input.jobType,
      tags: input.tags,
      config: config && JSON.stringify(config),
    })
    const bucket = data.upsertBucket.bucket
    return { entity: bucket.project.entity.name, project: bucket.project.name, name: bucket.name, historyLineCount: bucket.historyLineCount ?? 0 }
  }

  /** Appends lines to the run's files (history, summary) and, with `complete`, ends the run. */
  async fileStream(run: RunIdentity, body: FileStreamBody): Promise<void> {
    const path = [run.entity, run.project, run.name].map(encodeURIComponent).join('/')
    await this.#request(`${this.baseUrl}/files/${path}/file_stream`, { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }, 'the file stream')
  }

  /** Uploads files to the run (each PUT to the URL W&B hands out), as `wandb.save` does. */
  async uploadFiles(run: RunIdentity, files: { name: string; bytes: Uint8Array }[]): Promise<void> {
    const data = await this.graphql<{ createRunFiles: { uploadHeaders: string[] | null; files: { name: string; uploadUrl: string }[] } }>('CreateRunFiles', CREATE_RUN_FILES, {
      entity: run.entity,
      project: run.project,
      run: run.name,
      files: files.map((file) => file.name),
    })
    const headers = Object.fromEntries(
      (data.createRunFiles.uploadHeaders ?? []).map((header) => {
        const at = header.indexOf(':')
        return [header.slice(0, at).trim(), header.slice(at + 1).trim()]
      }),
    )
    for (const file of files) {
      const target = data.createRunFiles.files.find((candidate) => candidate.name === file.name)
      if (!target) throw new WandbError(`W&B gave no upload URL for ${file.name}`, { retryable: false })
      // The upload URL is usually cloud storage's, signed: it takes no W&B credentials.
      await this.#request(target.uploadUrl, { method: 'PUT', body: file.bytes as Uint8Array<ArrayBuffer>, headers }, `the upload of ${file.name}`, false)
    }
  }

  /** A W&B alert on the run (e-mail or Slack, as the user set up in W&B). */
  async alert(run: RunIdentity, alert: { title: string; text: string; severity: AlertSeverity }): Promise<void> {
    await this.graphql('NotifyScriptableRunAlert', ALERT, { entityName: run.entity, projectName: run.project, runName: run.name, ...alert })
  }

  async graphql<T>(operationName: string, query: string, variables: Record<string, unknown>): Promise<T> {
    const response = await this.#request(
      `${this.baseUrl}/graphql`,
      { method: 'POST', body: JSON.stringify({ operationName, query, variables }), headers: { 'content-type': 'application/json' } },
      `GraphQL ${operationName}`,
    )
    const body = (await response.json().catch(() => null)) as { data?: T; errors?: { message: string }[] } | null
    if (body?.errors?.length) throw new WandbError(`W&B refused ${operationName}: ${body.errors.map((error) => error.message).join('; ')}`, { retryable: false })
    if (!body?.data) throw new WandbError(`W&B answered ${operationName} without data`, { retryable: false })
    return body.data
  }

  async #request(url: string, init: RequestInit, what: string, authenticate = true): Promise<Response> {
    let response: Response
    try {
      response = await this.#fetch(url, {
        ...init,
        headers: { ...(init.headers as Record<string, string>), ...(authenticate ? { authorization: this.#authorization } : {}) },
        signal: AbortSignal.timeout(this.#timeoutMs),
      })
    } catch (error) {
      const reason = (error as { cause?: { code?: string; message?: string } }).cause
      throw new WandbError(`W&B unreachable at ${this.baseUrl} (${reason?.code ?? reason?.message ?? (error as Error).message}) during ${what}`, { retryable: true, cause: error })
    }
    if (response.ok) return response
    const text = (await response.text().catch(() => '')).slice(0, 300)
    const status = response.status
    if (status === 401 || status === 403)
      throw new WandbError(`W&B at ${this.baseUrl} refused the API key (HTTP ${status}) during ${what}: set WANDB_API_KEY, or run \`wandb login\``, { status, retryable: false })
    const retryAfter = Number(response.headers.get('retry-after'))
    throw new WandbError(`W&B answered HTTP ${status} during ${what}${text ? `: ${text}` : ''}`, {
      status,
      retryable: status === 429 || status >= 500,
      retryAfter: Number.isFinite(retryAfter) && retryAfter >= 0 ? retryAfter : undefined,
    })
  }
}
