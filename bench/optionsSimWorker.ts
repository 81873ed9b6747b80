/**
 * The options benchmark's simulator on a thread of its own: the Massive simulator with the options
 * market and the contracts endpoints, on 127.0.0.1, as a vendor would be (out of tapehouse's event
 * loop). Posts `{ url }` once it listens and serves until the thread is terminated.
 */
import { parentPort } from "node:worker_threads"
import { Effect } from "effect"
import * as MassiveSim from "../src/sim/MassiveSim.js"
import { optionsMarket, registerOptionContracts } from "../src/sim/options/optionsSim.js"

Effect.runFork(
  Effect.gen(function* () {
    const sim = yield* MassiveSim.make({ port: 0, markets: [optionsMarket] })
    registerOptionContracts(sim)
    parentPort?.postMessage({ url: sim.url })
    return yield* Effect.never
  }).pipe(Effect.scoped)
)
