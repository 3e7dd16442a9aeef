// Maps what the backend rejects with onto RESP error replies. Matching is by
// the errors' stable `code`, so a message may change without breaking this.
import type { Logger } from '../../util/logger.js'
import { errorReply, type Reply } from './reply-writer.js'

interface CodedError {
  readonly code?: unknown
  readonly message?: unknown
  readonly leaderRespAddr?: unknown
}

export function backendErrorReply(error: unknown, logger: Logger, slot = 0): Reply {
  const coded = (typeof error === 'object' && error !== null ? error : {}) as CodedError
  const message = typeof coded.message === 'string' ? coded.message : String(error)
  switch (coded.code) {
    case 'CLUSTERDOWN':
      return errorReply(`CLUSTERDOWN ${message}`)
    case 'TIMEOUT':
      return errorReply(`TIMEOUT ${message}`)
    case 'MOVED':
      return typeof coded.leaderRespAddr === 'string'
        ? errorReply(`MOVED ${slot} ${coded.leaderRespAddr}`)
        : errorReply('CLUSTERDOWN no known leader')
    case 'ERR_ADMIN':
      return errorReply(`ERR ${message}`)
    default:
      logger.error({ err: error }, 'backend request failed')
      return errorReply('ERR internal error; see the server log')
  }
}
