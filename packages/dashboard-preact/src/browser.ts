// Entry of the page the server serves at `/`: the dashboard for this origin, run from `?run=`.
import { mount } from './mount.js'

const params = new URLSearchParams(location.search)
mount(document.getElementById('app')!, { url: '', run: params.get('run') ?? undefined, token: params.get('token') ?? undefined })
