// CI seeds, share 2 of 4: simulated clusters under seeded faults, checked after every step.
import t from 'tap'
import { runCiShare } from './sim-ci.js'

runCiShare(t, 1)
