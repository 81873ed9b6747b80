/**
 * The ThetaData simulator in a process of its own, for bench/thetadataBackfill.ts: a terminal runs
 * beside tapehouse, not inside it, so its CPU and memory are not tapehouse's. Prints its v3 URL on
 * the first line of stdout and serves until killed.
 *
 *   node bin/run-ts.mjs bench/thetaSimProcess.ts [strikes_per_side] [concurrency]
 */
import { Effect } from "effect"
import * as ThetaSim from "../src/sim/thetadata/ThetaSim.js"

const strikesPerSide = Number(process.argv[2] ?? 100)
const concurrency = Number(process.argv[3] ?? 4)

Effect.runFork(
  Effect.gen(function* () {
    const sim = yield* ThetaSim.make({ port: 0, v2Port: 0, strikesPerSide, concurrency })
    process.stdout.write(`${sim.url}\n`)
    return yield* Effect.never
  }).pipe(Effect.scoped)
)
