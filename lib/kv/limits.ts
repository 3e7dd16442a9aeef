// Size limits shared by the ops and the command families (a module of its
// own so that both can import them without an import cycle at start-up).

/** Redis' proto-max-bulk-len: no value may grow beyond it. */
export const VALUE_BYTES_MAX = 512 * 1024 * 1024
/** Far below V8's string limit; Redis has none, but no real key comes close. */
export const KEY_BYTES_MAX = 16 * 1024 * 1024
