/** The training process's run log inside `<logdir>/<run>/`: line k holds seq k. */
export const RECORDS_FILE = 'records.ndjson'

/**
 * The server's journal inside `<logdir>/<run>/`, kept only for a run whose trainer log the server cannot
 * read (see `RunJournal`). The trainer may log into the same folder, so the server never writes `RECORDS_FILE`.
 */
export const JOURNAL_FILE = 'received.ndjson'
