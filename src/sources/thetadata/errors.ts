/** What can go wrong talking to the ThetaData terminal, as sentences a user can act on. */
import { Schema } from "effect"

/** Nothing listens at the terminal's URL (connection refused). Exit code 1. */
export class ThetaTerminalNotRunning extends Schema.TaggedError<ThetaTerminalNotRunning>()(
  "ThetaTerminalNotRunning",
  { url: Schema.String, api: Schema.Literal("v3", "v2") }
) {
  override get message(): string {
    const start =
      this.api === "v3"
        ? "start the Theta Terminal v3 (java -jar ThetaTerminalv3.jar; it listens on port 25503)"
        : "start the Theta Terminal v2 (java -jar ThetaTerminal.jar; it listens on port 25510)"
    return `No ThetaData terminal answers at ${this.url} (connection refused): ${start} and log in, or run the simulator with \`npx tapehouse sim thetadata\`. The URL is sources.thetadata.url in config/sources.yaml, or TAPEHOUSE_THETADATA_URL.`
  }
}

/** 471 (permission) or 473 (invalid parameters): never retried; names the tier the endpoint needs. */
export class ThetaTierError extends Schema.TaggedError<ThetaTierError>()("ThetaTierError", {
  request: Schema.String,
  status: Schema.Number,
  /** The subscription tier the endpoint needs at least, e.g. "STANDARD". */
  tier: Schema.String,
  detail: Schema.String
}) {
  override get message(): string {
    const what =
      this.status === 471
        ? `refused ${this.request} (HTTP 471, permission: your subscription does not include this data)`
        : `rejected the parameters of ${this.request} (HTTP 473, invalid parameters)`
    const fix =
      this.status === 471
        ? `This endpoint needs the ${this.tier} tier or higher: upgrade the subscription, or log the terminal in with an account that has it.`
        : `This endpoint needs the ${this.tier} tier or higher; check the subscription, and update the terminal (an old terminal can reject current parameters).`
    return `The ThetaData terminal ${what}: ${this.detail}. ${fix}`
  }
}

/** A request that failed after its retries, or with a status that is not retried. */
export class ThetaRequestError extends Schema.TaggedError<ThetaRequestError>()("ThetaRequestError", {
  request: Schema.String,
  status: Schema.optional(Schema.Number),
  detail: Schema.String
}) {
  override get message(): string {
    const status = this.status === undefined ? "" : ` (HTTP ${this.status})`
    return `ThetaData request ${this.request} failed${status}: ${this.detail}`
  }
}

/** The body of an answer broke off; the rows read before it were delivered, the cut row quarantined. */
export class ThetaResponseCut extends Schema.TaggedError<ThetaResponseCut>()("ThetaResponseCut", {
  request: Schema.String,
  /** The line the body broke off in (or after). */
  line: Schema.Number,
  detail: Schema.String
}) {
  override get message(): string {
    return `The ThetaData terminal's answer to ${this.request} broke off at line ${this.line} (${this.detail}); the unit is incomplete: fetch it again.`
  }
}

/** An answer that is not what the protocol describes (a CSV header without the columns it must have). */
export class ThetaProtocolError extends Schema.TaggedError<ThetaProtocolError>()("ThetaProtocolError", {
  request: Schema.String,
  detail: Schema.String
}) {
  override get message(): string {
    return `The ThetaData terminal's answer to ${this.request} is not what the protocol describes: ${this.detail}. Check sources.thetadata.api (v3 or v2) against the terminal you run.`
  }
}

export type ThetaTerminalError =
  | ThetaTerminalNotRunning
  | ThetaTierError
  | ThetaRequestError
  | ThetaResponseCut
  | ThetaProtocolError
