// Turns raftkv's JSON log lines into short readable ones for a terminal,
// prefixed with the node name: "[n1] 12:00:01.123 INFO  leader is n1 {term: 2}".
import { createInterface } from 'node:readline'

const name = process.argv[2] ?? '?'
const colors = ['\x1b[36m', '\x1b[35m', '\x1b[33m', '\x1b[32m', '\x1b[34m']
const color = process.stdout.isTTY ? colors[[...name].reduce((a, c) => a + c.charCodeAt(0), 0) % colors.length] : ''
const reset = process.stdout.isTTY ? '\x1b[0m' : ''
const levels = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO ', 40: 'WARN ', 50: 'ERROR', 60: 'FATAL' }
const rl = createInterface({ input: process.stdin })
rl.on('line', (line) => {
  let out = line
  try {
    const o = JSON.parse(line)
    const { level, time, msg, node, pid, hostname, ...rest } = o
    const t = typeof time === 'string' ? time.slice(11, 23) : ''
    const extra = Object.keys(rest).length > 0 ? ' ' + JSON.stringify(rest) : ''
    out = `${t} ${levels[level] ?? level} ${msg}${extra}`
  } catch {
    // Not JSON (a crash trace): print as is.
  }
  process.stdout.write(`${color}[${name}]${reset} ${out}\n`)
})
