// settings.json as the API reads and writes it: the API owns the keys of its `Settings` schema;
// any other key in the file (hand-written, or for tests) is kept as it was.

import { readFile, rename, writeFile } from 'node:fs/promises'
import { Settings } from '@wholesum/api-client'

/** The top-level keys the API may change. */
export const API_SETTINGS_KEYS: readonly string[] = Object.keys(Settings.properties)

/** `next` for the API's keys (absent ones removed), `current` for every other key. */
export function mergeSettings(
  current: Readonly<Record<string, unknown>>,
  next: Readonly<Record<string, unknown>>,
): Record<string, unknown> {
  const merged: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(current)) {
    if (!API_SETTINGS_KEYS.includes(key)) merged[key] = value
  }
  for (const [key, value] of Object.entries(next)) {
    if (API_SETTINGS_KEYS.includes(key) && value !== undefined) merged[key] = value
  }
  return merged
}

export async function readSettingsFile(file: string): Promise<Record<string, unknown>> {
  try {
    const value: unknown = JSON.parse(await readFile(file, 'utf8'))
    return typeof value === 'object' && value !== null && !Array.isArray(value)
      ? (value as Record<string, unknown>)
      : {}
  } catch {
    return {}
  }
}

/** Writes the merge of the file and `next` atomically (write, then rename), mode 0600. */
export async function writeSettingsFile(
  file: string,
  next: Readonly<Record<string, unknown>>,
): Promise<void> {
  const merged = mergeSettings(await readSettingsFile(file), next)
  const partial = `${file}.partial`
  await writeFile(partial, JSON.stringify(merged, null, 2) + '\n', { mode: 0o600 })
  await rename(partial, file)
}
