// Loaded with `NODE_OPTIONS=--import <this file>` (node refuses --cpu-prof in
// NODE_OPTIONS, and the cluster helpers start nodes with fixed arguments): runs
// the inspector's CPU profiler for the life of the process and writes
// <CPU_PROFILE_DIR>/<pid>.cpuprofile when it exits normally (SIGTERM → clean
// stop → exit). Used by bench/restart.ts --profile-dir.
import { writeFileSync } from 'node:fs'
import { Session } from 'node:inspector'
import { join } from 'node:path'

const dir = process.env['CPU_PROFILE_DIR']
if (dir !== undefined && dir !== '') {
  const session = new Session()
  session.connect()
  session.post('Profiler.enable')
  session.post('Profiler.setSamplingInterval', { interval: 1000 })
  session.post('Profiler.start')
  process.on('exit', () => {
    // The in-process inspector answers synchronously, so this completes inside 'exit'.
    session.post('Profiler.stop', (err, result) => {
      if (err === null) writeFileSync(join(dir, `${process.pid}.cpuprofile`), JSON.stringify(result.profile))
    })
  })
}
