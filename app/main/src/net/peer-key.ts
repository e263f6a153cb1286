// The node's persistent identity: an Ed25519 libp2p key in a 0600 file, made on first start.
// Our wire messages are signed with the same key, so a peer ID names who signed what.

import { chmod, mkdir, readFile, rename, writeFile } from 'node:fs/promises'
import { dirname } from 'node:path'
import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys'
import type { Ed25519PrivateKey } from '@libp2p/interface'
import { InvalidInputError } from '@wholesum/plugin-api'

export async function loadOrCreatePeerKey(file: string): Promise<Ed25519PrivateKey> {
  let bytes: Buffer | undefined
  try {
    bytes = await readFile(file)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
  }
  if (bytes !== undefined) {
    let key
    try {
      key = privateKeyFromProtobuf(bytes)
    } catch (err) {
      throw new InvalidInputError('INVALID_INPUT', `peer key ${file} is not a libp2p private key`, {
        cause: err,
      })
    }
    if (key.type !== 'Ed25519') {
      throw new InvalidInputError('INVALID_INPUT', `peer key ${file} is ${key.type}, not Ed25519`)
    }
    return key
  }
  const key = await generateKeyPair('Ed25519')
  await mkdir(dirname(file), { recursive: true })
  // Write then rename, so a crash never leaves half a key that the next start would reject.
  const partial = `${file}.partial`
  await writeFile(partial, privateKeyToProtobuf(key), { mode: 0o600 })
  await chmod(partial, 0o600)
  await rename(partial, file)
  return key
}
