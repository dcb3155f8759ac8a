import { useEffect, useState } from 'preact/hooks'
import type { ColorScheme } from '@sparselab-profiler/core'

const query = () => (typeof matchMedia === 'function' ? matchMedia('(prefers-color-scheme: dark)') : null)

/** The page's colour scheme, following the system's as it changes. */
export function useColorScheme(): ColorScheme {
  const [dark, setDark] = useState(() => query()?.matches ?? false)
  useEffect(() => {
    const media = query()
    if (!media) return
    const changed = () => setDark(media.matches)
    media.addEventListener('change', changed)
    return () => media.removeEventListener('change', changed)
  }, [])
  return dark ? 'dark' : 'light'
}
