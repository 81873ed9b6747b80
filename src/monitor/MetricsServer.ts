/**
 * `--metrics-port`: serves the process's Effect metrics (PipelineMetrics.ts and any other) as
 * Prometheus text on `http://<host>:<port>/metrics`. The registry is read through
 * @effect/opentelemetry's metric producer and written by the OpenTelemetry Prometheus exporter,
 * which this module only routes requests to: the exposition format is the exporter's.
 *
 * Loaded only when a command is given `--metrics-port` (the OpenTelemetry packages stay out of
 * `--help` and `status`).
 */
import * as Http from "node:http"
import * as Metrics from "@effect/opentelemetry/Metrics"
import * as Resource from "@effect/opentelemetry/Resource"
import { PrometheusExporter } from "@opentelemetry/exporter-prometheus"
import { Effect, Layer, type Scope } from "effect"
import packageJson from "../../package.json" with { type: "json" }
import { UsageError } from "../domain/errors.js"

export interface MetricsServerOptions {
  /** 0: a free port, picked by the system. */
  readonly port: number
  readonly host: string
}

export interface MetricsServer {
  /** The port it listens on (the one picked when asked for 0). */
  readonly port: number
  /** `http://host:port/metrics` */
  readonly url: string
}

const errorCode = (cause: unknown): string =>
  typeof cause === "object" && cause !== null && "code" in cause ? String(cause.code) : String(cause)

/** Listens until the scope closes; fails with a `UsageError` when the port cannot be had. */
export const serve = (options: MetricsServerOptions): Effect.Effect<MetricsServer, UsageError, Scope.Scope> =>
  Effect.gen(function* () {
    // Its own server is not started: requests reach it through the handler below.
    const exporter = new PrometheusExporter({ preventServerStart: true, withoutScopeInfo: true })
    yield* Layer.build(
      Metrics.layer(() => exporter).pipe(
        Layer.provide(Resource.layer({ serviceName: "tapehouse", serviceVersion: packageJson.version }))
      )
    )
    const server = yield* Effect.acquireRelease(
      Effect.async<Http.Server, UsageError>((resume) => {
        const server = Http.createServer((request, response) => {
          const path = (request.url ?? "/").split("?")[0]
          if (request.method === "GET" && path === "/metrics") {
            exporter.getMetricsRequestHandler(request, response)
            return
          }
          response.writeHead(404, { "content-type": "text/plain; charset=utf-8" })
          response.end("not found: metrics are on /metrics\n")
        })
        const onError = (cause: unknown) =>
          resume(
            Effect.fail(
              new UsageError({
                detail: `--metrics-port ${options.port}: cannot listen on ${options.host}:${options.port} (${errorCode(cause)}); pick another port, or 0 for a free one.`
              })
            )
          )
        server.once("error", onError)
        server.listen(options.port, options.host, () => {
          server.off("error", onError)
          resume(Effect.succeed(server))
        })
      }),
      (server) =>
        Effect.async<void>((resume) => {
          server.closeAllConnections()
          server.close(() => resume(Effect.void))
        })
    )
    const address = server.address()
    const port = typeof address === "object" && address !== null ? address.port : options.port
    const host = options.host.includes(":") ? `[${options.host}]` : options.host
    return { port, url: `http://${host}:${port}/metrics` }
  })
