// The ports the Fetch standard blocks ("port blocking": https://fetch.spec.whatwg.org/#port-blocking).
// Browsers and Node's own fetch() refuse them before connecting ("bad
// port"), whatever listens there; curl and redis-cli do not. A node whose
// HTTP_ADDR uses one serves /status, /metrics and /watch to curl but not to
// a browser or a fetch-based client, so start-up says so (a warning, not an
// error: the port works for everything else).

/** The list as undici (Node's fetch) carries it. */
export const FETCH_BAD_PORTS: ReadonlySet<number> = new Set([
  1, 7, 9, 11, 13, 15, 17, 19, 20, 21, 22, 23, 25, 37, 42, 43, 53, 69, 77, 79, 87, 95, 101, 102, 103, 104, 109, 110, 111,
  113, 115, 117, 119, 123, 135, 137, 139, 143, 161, 179, 389, 427, 465, 512, 513, 514, 515, 526, 530, 531, 532, 540, 548,
  554, 556, 563, 587, 601, 636, 989, 990, 993, 995, 1719, 1720, 1723, 2049, 3659, 4045, 4190, 5060, 5061, 6000, 6566, 6665,
  6666, 6667, 6668, 6669, 6679, 6697, 10080,
])

/** The start-up warning for an HTTP port that fetch() refuses, or null. */
export function fetchBlockedPortWarning(name: string, port: number): string | null {
  if (!FETCH_BAD_PORTS.has(port)) return null
  return `${name} port ${port} is one that browsers and fetch() refuse to connect to (the Fetch standard's blocked ports): curl works, a browser or a fetch-based client will not; choose another port`
}
