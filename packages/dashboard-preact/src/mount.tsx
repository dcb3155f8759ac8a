import { render } from 'preact'
import { Dashboard, type DashboardProps } from './Dashboard.js'

/**
 * Renders the dashboard into `element` and returns a function that removes it again.
 * @example const unmount = mount(document.getElementById('sparsity')!, { url: 'http://127.0.0.1:8080' })
 */
export function mount(element: Element, props: DashboardProps): () => void {
  render(<Dashboard {...props} />, element)
  return () => render(null, element)
}
