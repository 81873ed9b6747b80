/** `--metrics-port N` of stream, backfill and simulate: Prometheus text on /metrics while the command runs. */
import { Options } from "@effect/cli"
import { Console, Effect, Option } from "effect"
import type { AppConfigShape } from "../config/AppConfig.js"
import { integerOption } from "./optionTypes.js"

export const metricsPort = integerOption("metrics-port", {
  min: 0,
  max: 65535,
  expected: "a port, 0-65535 (0 = a free one)"
}).pipe(
  Options.withDescription(
    "Serve Prometheus metrics on http://127.0.0.1:N/metrics while the command runs (0 = a free port, printed at start; the interface is monitoring.metrics_host)."
  ),
  Options.optional
)

/**
 * Runs `self` with the metrics server up when a port was given: it starts first (a port in use
 * fails the command with exit 2), says where it listens, and stops when `self` ends.
 */
export const withMetricsServer =
  (port: Option.Option<number>, config: AppConfigShape) =>
  <A, E, R>(self: Effect.Effect<A, E, R>) =>
    Option.match(port, {
      onNone: () => self,
      onSome: (port) =>
        Effect.scoped(
          Effect.gen(function* () {
            // Loaded only here: the OpenTelemetry packages are not part of any other start.
            const MetricsServer = yield* Effect.promise(() => import("../monitor/MetricsServer.js"))
            const server = yield* MetricsServer.serve({ port, host: config.monitoring.metricsHost })
            yield* Console.log(`metrics on ${server.url}`)
            return yield* self
          })
        )
    })
