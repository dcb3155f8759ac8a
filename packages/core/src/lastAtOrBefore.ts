/**
 * Index of the last of `items`, ascending by `key`, whose key is at or before `x`; -1 when none is (a binary
 * search: what every "value held at step x" lookup of a sorted series needs).
 * @example lastAtOrBefore([{ step: 0 }, { step: 10 }, { step: 20 }], 15, (p) => p.step) // 1
 */
export function lastAtOrBefore<T>(items: readonly T[], x: number, key: (item: T) => number): number {
  let lo = 0
  let hi = items.length - 1
  if (hi < 0 || key(items[0]!) > x) return -1
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1
    if (key(items[mid]!) <= x) lo = mid
    else hi = mid - 1
  }
  return lo
}
