// What the kernel counts for a server process: its CPU time (/proc/<pid>/stat),
// its resident memory (/proc/<pid>/status) and, per thread, how long it ran and how long it was runnable but waiting
// for a CPU (/proc/<pid>/task/<tid>/schedstat). On this project's 2-core
// machines a loaded cluster's threads wait about as long as they run, which
// stretches every pause measured in wall time; the benchmarks report it
// next to their numbers.
import { readFileSync, readdirSync } from 'node:fs'

/** CPU clock ticks per second of /proc/<pid>/stat (USER_HZ, 100 on Linux). */
export const ticksPerSecond = 100

/** utime + stime of the process, in ticks. */
export function cpuTicks(pid: number): number {
  // Fields after the command name (which may hold spaces): utime is field 14, stime 15.
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return Number(rest[11]) + Number(rest[12])
}

/** A size field of /proc/<pid>/status (VmRSS now, VmHWM the peak), in bytes; throws when the process or the field is gone. */
export function statusBytes(pid: number, field: 'VmRSS' | 'VmHWM' = 'VmRSS'): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8')
  const kb = new RegExp(`${field}:\\s+(\\d+) kB`).exec(status)?.[1]
  if (kb === undefined) throw new Error(`no ${field} for ${pid}`)
  return Number(kb) * 1024
}

export interface SchedTimes {
  /** ns on a CPU. */
  readonly runNs: number
  /** ns runnable but waiting for a CPU. */
  readonly waitNs: number
}

const noSchedStat: SchedTimes = { runNs: NaN, waitNs: NaN }

function threadSched(pid: number, tid: string): SchedTimes {
  const fields = readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')
  return { runNs: Number(fields[0]), waitNs: Number(fields[1]) }
}

/** Summed over the process's threads; NaN where the kernel does not keep schedstat. */
export function processSched(pid: number): SchedTimes {
  try {
    let runNs = 0
    let waitNs = 0
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      const t = threadSched(pid, tid)
      runNs += t.runNs
      waitNs += t.waitNs
    }
    return { runNs, waitNs }
  } catch {
    return noSchedStat
  }
}

/** The main thread's (where JavaScript runs and GC pauses are felt); NaN where unavailable. */
export function mainThreadSched(pid: number): SchedTimes {
  try {
    return threadSched(pid, String(pid))
  } catch {
    return noSchedStat
  }
}
