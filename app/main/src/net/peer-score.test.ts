// gossipsub's own scoring, run with our parameters and its decay stepped by hand: how long one
// invalid message keeps its sender graylisted.

import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import type { ComponentLogger, Logger } from '@libp2p/interface'
import { createPeerScoreParams, PeerScore } from '@libp2p/gossipsub/score'
import { GRAYLIST_THRESHOLD, TOPIC_SCORE } from './peer-score.ts'

const TOPIC = '/wholesum/test/1'
const PEER = '12D3KooWPeer'

const silent: ComponentLogger = {
  forComponent: () =>
    Object.assign(() => {}, {
      enabled: false,
      error: () => {},
      trace: () => {},
      newScope: () => silent.forComponent(''),
    }) as unknown as Logger,
}

/**
 * Decay ticks (one a second) until the peer is back above the graylist threshold after `invalid`
 * messages. The first tick comes 0–1 s after the message, so n ticks is n-1 to n seconds.
 */
function graylistedFor(invalid: number): number {
  const score = new PeerScore(
    createPeerScoreParams({ topics: { [TOPIC]: TOPIC_SCORE } }),
    null,
    silent,
    { scoreCacheValidityMs: 0 },
  )
  score.addPeer(PEER)
  for (let i = 0; i < invalid; i++) score.rejectInvalidMessage(PEER, TOPIC)
  let seconds = 0
  while (score.score(PEER) < GRAYLIST_THRESHOLD) {
    score.refreshScores()
    seconds += 1
    assert.ok(seconds < 120, 'never forgiven')
  }
  return seconds
}

describe('peer score', () => {
  test('one invalid message graylists its sender for 4–5 s', () => {
    assert.equal(graylistedFor(1), 5)
  })

  test('a habit costs more: two messages 8–9 s, five 14–15 s', () => {
    assert.equal(graylistedFor(2), 9)
    assert.equal(graylistedFor(5), 15)
  })

  test('a peer that sent nothing invalid is not graylisted', () => {
    assert.equal(graylistedFor(0), 0)
  })
})
