// Numbers as people read them.

export function bytes(n: number | null | undefined): string {
  if (n === null || n === undefined) return '—'
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB']
  let value = n
  let unit = 0
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024
    unit += 1
  }
  return `${unit === 0 ? value : value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`
}

export function duration(ms: number | undefined): string {
  if (ms === undefined || !Number.isFinite(ms)) return '—'
  const s = Math.max(0, Math.round(ms / 1000))
  if (s < 60) return `${s} s`
  const m = Math.floor(s / 60)
  if (m < 60) return `${m} min ${s % 60} s`
  return `${Math.floor(m / 60)} h ${m % 60} min`
}

export function age(at: number, now = Date.now()): string {
  return `${duration(now - at)} ago`
}

export const short = (id: string | undefined, n = 12): string =>
  id === undefined ? '—' : id.length > n ? `${id.slice(0, n)}…` : id

/** Base units as a decimal string, grouped by thousands. */
export function amount(wei: string | bigint): string {
  return BigInt(wei).toLocaleString('en-US')
}

export function hex(bytes: Uint8Array, limit = 4096): string {
  const head = bytes.subarray(0, limit)
  const text = Array.from(head, (b) => b.toString(16).padStart(2, '0')).join('')
  return bytes.length > limit ? `${text}… (${bytes.length} bytes)` : text
}

/** The bytes as text when they read as UTF-8 without control characters, else undefined. */
export function text(bytes: Uint8Array): string | undefined {
  try {
    const decoded = new TextDecoder('utf-8', { fatal: true }).decode(bytes)
    return /[\u0000-\u0008\u000e-\u001f]/.test(decoded) ? undefined : decoded
  } catch {
    return undefined
  }
}
