// How gossipsub scores the senders of our topics. One term only: invalid messages (those our topic
// validator rejects). The mesh-delivery terms stay off: a devnet's topics are too quiet for
// delivery rates to mean much.

import { createTopicScoreParams, type TopicScoreParams } from '@libp2p/gossipsub/score'

/** gossipsub's default: below it a peer's RPCs are ignored. */
export const GRAYLIST_THRESHOLD = -80

/**
 * The penalty is weight × counter², and the counter decays once a second. One invalid message
 * costs -320, and 0.85 a second keeps the sender under the graylist threshold for 4 decays
 * (-320 × 0.85⁸ = -87; one more and it is -63): 4–5 s for one message, 8–9 s for two, 14–15 s
 * for five. (gossipsub still accepts RPCs for up to 1 s from a peer whose score was non-negative
 * when last checked, so the first invalid message may be followed by others that pass the gate.)
 */
export const INVALID_MESSAGE_WEIGHT = -320
export const INVALID_MESSAGE_DECAY = 0.85

export const TOPIC_SCORE: TopicScoreParams = createTopicScoreParams({
  topicWeight: 1,
  timeInMeshWeight: 0,
  firstMessageDeliveriesWeight: 0,
  meshMessageDeliveriesWeight: 0,
  meshFailurePenaltyWeight: 0,
  invalidMessageDeliveriesWeight: INVALID_MESSAGE_WEIGHT,
  invalidMessageDeliveriesDecay: INVALID_MESSAGE_DECAY,
})
