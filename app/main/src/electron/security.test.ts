// The shell's policy, without Electron.

import { describe, test } from 'node:test'
import assert from 'node:assert/strict'
import {
  appOriginOf,
  externalUrl,
  navigationAllowed,
  permissionAllowed,
  senderAllowed,
  webPreferences,
} from './security.ts'

const APP = 'http://127.0.0.1:7777'

describe('the Electron shell policy', () => {
  test('the page runs sandboxed and isolated, with no Node', () => {
    const prefs = webPreferences('/app/preload.cjs')
    assert.equal(prefs.contextIsolation, true)
    assert.equal(prefs.sandbox, true)
    assert.equal(prefs.nodeIntegration, false)
    assert.equal(prefs.webSecurity, true)
    assert.equal(prefs.webviewTag, false)
    assert.equal(prefs.allowRunningInsecureContent, false)
  })

  test('navigation stays on the node: another port, host or scheme is refused', () => {
    assert.equal(navigationAllowed(`${APP}/#/jobs`, APP), true)
    for (const other of [
      'http://127.0.0.1:7778/',
      'http://localhost:7777/',
      'https://127.0.0.1:7777/',
      'file:///etc/passwd',
      'javascript:alert(1)',
      'https://evil.example/',
      'not a url',
    ]) {
      assert.equal(navigationAllowed(other, APP), false, other)
    }
  })

  test('links leave for the OS browser only as http(s)', () => {
    assert.equal(externalUrl('https://risczero.com/'), 'https://risczero.com/')
    for (const bad of [
      'file:///etc/passwd',
      'smb://host/share',
      'javascript:1',
      'ms-settings:',
      '',
    ]) {
      assert.equal(externalUrl(bad), undefined, bad)
    }
  })

  test('IPC is answered only for the node UI in the top frame', () => {
    assert.equal(senderAllowed(`${APP}/#/jobs`, APP, true), true)
    assert.equal(senderAllowed(`${APP}/#/jobs`, APP, false), false)
    assert.equal(senderAllowed('https://evil.example/', APP, true), false)
    assert.equal(senderAllowed(undefined, APP, true), false)
  })

  test('no permission is granted; the API origin must be loopback http', () => {
    for (const p of ['media', 'geolocation', 'notifications', 'openExternal']) {
      assert.equal(permissionAllowed(p), false)
    }
    assert.equal(appOriginOf('http://127.0.0.1:7777'), APP)
    assert.throws(() => appOriginOf('http://10.0.0.2:7777'), /loopback/)
    assert.throws(() => appOriginOf('https://127.0.0.1:7777'), /loopback over http/)
  })
})
