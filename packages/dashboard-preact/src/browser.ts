// Entry of the page the server serves at `/`: the dashboard for this origin, its view (run, layer, step, zoom) kept in the URL.
import { mount } from './mount.js'

const params = new URLSearchParams(location.search)
mount(document.getElementById('app')!, { url: '', token: params.get('token') ?? undefined, urlState: true })
