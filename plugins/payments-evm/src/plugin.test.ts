// The plugin as the host sees it: its settings, its password, and an activation through the real
// plugin host against anvil, whose guarded capability passes the escrow's refusals through.

import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { newKeystore } from '@wholesum/escrow'
import {
  EscrowRevertError,
  InvalidInputError,
  PluginError,
  type Hex,
  type PaymentsPlugin,
} from '@wholesum/plugin-api'
import { getAddress } from 'viem'
import { LocalChain } from '../../../packages/escrow/src/testing/local-chain.ts'
import { createLogger } from '../../../app/main/src/log/logger.ts'
import { PluginHost } from '../../../app/main/src/plugins/host.ts'
import { PASSWORD_ENV, readPassword, readSettings } from './settings.ts'

const PLUGINS_DIR = resolve(import.meta.dirname, '../..')
const ESCROW = '0x5FbDB2315678afecb367f032d93F642f64180aa3'
const randomDigest = (): Hex => `0x${randomBytes(32).toString('hex')}`

let dir: string
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'wholesum-payments-plugin-'))
})
after(async () => {
  if (dir !== undefined) await rm(dir, { recursive: true, force: true })
})

describe('payments-evm settings', () => {
  test('rpcUrl, chainId and escrow are required: there is no default chain', () => {
    for (const missing of ['rpcUrl', 'chainId', 'escrow']) {
      const settings: Record<string, unknown> = {
        rpcUrl: 'http://127.0.0.1:8545',
        chainId: 31337,
        escrow: ESCROW,
      }
      delete settings[missing]
      assert.throws(
        () => readSettings(settings, '/data'),
        (err: unknown) =>
          err instanceof InvalidInputError &&
          err.message ===
            `payments-evm: setting "${missing}" is required (no chain is contacted unless it is configured)`,
      )
    }
  })

  test('defaults, a relative keystore path, and refused values', () => {
    const settings = readSettings(
      { rpcUrl: 'https://rpc.example/v2/key', chainId: 8453, escrow: ESCROW.toLowerCase() },
      '/data/payments-evm',
    )
    assert.deepEqual(settings, {
      rpcUrl: 'https://rpc.example/v2/key',
      chainId: 8453,
      escrow: ESCROW,
      keystoreFile: '/data/payments-evm/evm-key.json',
      passwordFile: undefined,
      confirmations: 1,
      pollingIntervalMs: undefined,
    })
    const base = { rpcUrl: 'http://127.0.0.1:8545', chainId: 1, escrow: ESCROW }
    assert.equal(
      readSettings({ ...base, keystoreFile: 'keys/node.json' }, '/d').keystoreFile,
      '/d/keys/node.json',
    )
    for (const [name, value] of [
      ['rpcUrl', 'ws://127.0.0.1:8546'],
      ['chainId', 0],
      ['chainId', '1'],
      ['escrow', '0x1234'],
      ['confirmations', 0],
      ['pollingIntervalMs', 2.5],
      ['passwordFile', 7],
    ] as const) {
      assert.throws(
        () => readSettings({ ...base, [name]: value }, '/d'),
        (err: unknown) =>
          err instanceof InvalidInputError &&
          err.message.startsWith(`payments-evm: setting "${name}"`),
      )
    }
  })

  test('the password: the first line of passwordFile, else WHOLESUM_EVM_PASSWORD, else a clear error', async () => {
    const file = join(dir, 'password.txt')
    await writeFile(file, 's3cret words\nignored\n')
    assert.deepEqual(await readPassword(file, { [PASSWORD_ENV]: 'from env' }), {
      password: 's3cret words',
      source: file,
    })
    assert.deepEqual(await readPassword(undefined, { [PASSWORD_ENV]: 'from env' }), {
      password: 'from env',
      source: PASSWORD_ENV,
    })
    await assert.rejects(
      readPassword(undefined, {}),
      /set the setting "passwordFile" or the environment variable WHOLESUM_EVM_PASSWORD/,
    )
    await writeFile(file, '\n')
    await assert.rejects(readPassword(file, {}), /is empty/)
    await assert.rejects(readPassword(join(dir, 'absent'), {}), /cannot read the password file/)
  })
})

describe('payments-evm through the plugin host', () => {
  let chain: LocalChain
  before(async () => {
    chain = await LocalChain.start({
      minQuorum: 1,
      minVerifierBond: 1n,
      minClaimWindowS: 60,
      retireDelayS: 60,
    })
  })
  after(() => chain?.stop())

  function host(root: string, settings: Record<string, unknown>, log: string[] = []) {
    return new PluginHost({
      builtinDirs: [PLUGINS_DIR],
      userPluginsDir: join(root, 'user'),
      dataDir: join(root, 'data'),
      logger: createLogger({ level: 'info', stream: { write: (line: string) => log.push(line) } }),
      settings: { 'payments-evm': settings },
    })
  }

  test('activates with its settings, passes the shape check, and lets EscrowRevertError through the guard', async () => {
    const root = join(dir, 'host')
    // The default keystore place, made beforehand with a cheap scrypt so the test stays fast.
    const { keystore, address } = newKeystore('pw', { scryptN: 1024 })
    await mkdir(join(root, 'data', 'payments-evm'), { recursive: true })
    await writeFile(join(root, 'data', 'payments-evm', 'evm-key.json'), JSON.stringify(keystore))
    const passwordFile = join(root, 'password')
    await writeFile(passwordFile, 'pw\n')
    const log: string[] = []
    const plugins = host(
      root,
      {
        rpcUrl: chain.anvil.rpcUrl,
        chainId: chain.anvil.chainId,
        escrow: chain.escrow,
        passwordFile,
        pollingIntervalMs: 50,
      },
      log,
    )
    await plugins.discover()
    try {
      const listing = await plugins.activate('payments-evm')
      assert.equal(listing.status, 'active')
      const payments: PaymentsPlugin = plugins.get('payments', 'payments-evm')
      assert.equal(payments.chainId, chain.anvil.chainId)
      assert.equal(payments.escrow, getAddress(chain.escrow))
      assert.equal(payments.account, address)
      assert.equal(await payments.balance(), 0n)
      assert.equal(await payments.minVerifierBond(), 1n)
      await assert.rejects(payments.claimsCloseAt(randomDigest()), (err: unknown) => {
        assert.ok(err instanceof EscrowRevertError, String(err))
        assert.equal(err.reason, 'UnknownJob')
        return true
      })
      const ready = log.map((line) => JSON.parse(line)).find((r) => r.msg === 'EVM payments ready')
      assert.equal(ready?.fields?.account, address)
      assert.ok(!log.join('\n').includes('"pw"'), 'the password is never logged')
    } finally {
      await plugins.shutdown()
    }
  })

  test('without its settings the activation fails, naming the missing setting', async () => {
    const plugins = host(join(dir, 'bare'), {})
    await plugins.discover()
    try {
      await assert.rejects(plugins.activate('payments-evm'), (err: unknown) => {
        assert.ok(err instanceof PluginError)
        assert.match(String((err.cause as Error).message), /setting "rpcUrl" is required/)
        return true
      })
    } finally {
      await plugins.shutdown()
    }
  })
})
