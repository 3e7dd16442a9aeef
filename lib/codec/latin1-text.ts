// A latin1 string (one char per byte: how the keyspace holds keys and string
// values) written into a buffer as its bytes. Buffer#write is a call into C++
// that costs more than a short string's chars copied in a loop, so short
// strings take the loop; each caller passes the length up to which it
// measured the loop to win on its path.

/** Writes `text`'s chars at `at`, one byte each; returns where they end. */
export function writeLatin1(out: Buffer, at: number, text: string, loopCharsMax: number): number {
  const length = text.length
  if (length > loopCharsMax) return at + out.write(text, at, length, 'latin1')
  for (let i = 0; i < length; i++) out[at + i] = text.charCodeAt(i)
  return at + length
}
