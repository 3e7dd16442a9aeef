// The one error a bad configuration raises: its message is one line naming
// the variable, so the CLI prints it and exits 2 instead of showing a stack trace.
export class ConfigError extends Error {
  readonly code = 'ERR_CONFIG'
  constructor(message: string) {
    super(message)
    this.name = 'ConfigError'
  }
}
