/**
 * The few Binance REST calls the order-book capture makes (exchangeInfo, the depth snapshot),
 * one at a time, within the IP's request weight (spec §1.3, §2.3): the weight used is read from
 * every answer's `X-MBX-USED-WEIGHT-1M`, and a request that would pass the minute's limit (from
 * exchangeInfo's REQUEST_WEIGHT) waits for the next minute. A 429 or 418 waits its `Retry-After`
 * (never retrying before it: continuing after a 429 earns the 418 ban); a network error or a 5xx
 * is retried with a capped backoff.
 */
import type { BinanceVenue } from "./exchangeInfo.js"

export class BinanceRestError extends Error {
  readonly _tag = "BinanceRestError"
}

/** A depth `limit` the venue accepts, and its weight (spec §1.3 spot, §2.3 USD-M). */
export const depthLimitAndWeight = (
  venue: BinanceVenue,
  wanted: number
): { limit: number; weight: number } => {
  if (venue === "binance-spot") {
    const limit = Math.min(5000, Math.max(1, wanted))
    return { limit, weight: limit <= 100 ? 5 : limit <= 500 ? 25 : limit <= 1000 ? 50 : 250 }
  }
  const allowed = [5, 10, 20, 50, 100, 500, 1000]
  const limit = allowed.find((l) => l >= wanted) ?? 1000
  return { limit, weight: limit <= 50 ? 2 : limit === 100 ? 5 : limit === 500 ? 10 : 20 }
}

export interface BinanceRestOptions {
  readonly venue: BinanceVenue
  readonly baseUrl: string
  readonly timeoutMs: number
  /** Attempts for network errors and 5xx (429/418 waits do not use them up). */
  readonly attempts: number
  /** The longest Retry-After honoured before giving up the request. */
  readonly maxRetryAfterMs: number
  /** Stops waits and requests (the capture is ending). */
  readonly signal: AbortSignal
}

export interface RestAnswer {
  readonly body: unknown
  /** Local arrival of the answer, epoch ns. */
  readonly receivedNs: bigint
}

const sleep = (ms: number, signal: AbortSignal): Promise<void> =>
  new Promise((resolve, reject) => {
    if (signal.aborted) return reject(new BinanceRestError("stopped"))
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", onAbort)
      resolve()
    }, ms)
    const onAbort = () => {
      clearTimeout(timer)
      reject(new BinanceRestError("stopped"))
    }
    signal.addEventListener("abort", onAbort, { once: true })
  })

/** Epoch ns now (ms precision plus the monotonic clock's sub-ms part). */
export const nowNs = (): bigint => BigInt(Date.now()) * 1_000_000n + (process.hrtime.bigint() % 1_000_000n)

export class BinanceRest {
  private weightLimit = Number.POSITIVE_INFINITY
  private usedWeight = 0
  private usedMinute = 0
  private chain: Promise<unknown> = Promise.resolve()
  /** Weight spent through this client, and 429/418 answers met. */
  weightSpent = 0
  throttled = 0

  constructor(readonly options: BinanceRestOptions) {}

  get used(): number {
    return this.usedWeight
  }

  get limit(): number {
    return this.weightLimit
  }

  /** exchangeInfo; also learns the minute's REQUEST_WEIGHT limit from it. */
  exchangeInfo(): Promise<unknown> {
    const path = this.options.venue === "binance-spot" ? "/api/v3/exchangeInfo" : "/fapi/v1/exchangeInfo"
    const weight = this.options.venue === "binance-spot" ? 20 : 1
    return this.request(path, weight).then(({ body }) => {
      const limits = (body as { rateLimits?: Array<Record<string, unknown>> }).rateLimits ?? []
      const w = limits.find((l) => l["rateLimitType"] === "REQUEST_WEIGHT" && l["interval"] === "MINUTE")
      if (w !== undefined && typeof w["limit"] === "number") this.weightLimit = w["limit"]
      return body
    })
  }

  /** The depth snapshot of `symbol` with about `limit` levels a side. */
  depth(symbol: string, limit: number): Promise<RestAnswer> {
    const { limit: l, weight } = depthLimitAndWeight(this.options.venue, limit)
    const path = this.options.venue === "binance-spot" ? "/api/v3/depth" : "/fapi/v1/depth"
    return this.request(`${path}?symbol=${encodeURIComponent(symbol)}&limit=${l}`, weight)
  }

  /** Requests run one at a time, in call order. */
  private request(path: string, weight: number): Promise<RestAnswer> {
    const run = this.chain.then(
      () => this.send(path, weight),
      () => this.send(path, weight)
    )
    this.chain = run.catch(() => undefined)
    return run
  }

  private async send(path: string, weight: number): Promise<RestAnswer> {
    const { signal } = this.options
    let failures = 0
    for (;;) {
      await this.waitForWeight(weight)
      let response: Response
      try {
        response = await fetch(`${this.options.baseUrl}${path}`, {
          signal: AbortSignal.any([signal, AbortSignal.timeout(this.options.timeoutMs)])
        })
      } catch (cause) {
        if (signal.aborted) throw new BinanceRestError("stopped")
        if (++failures >= this.options.attempts)
          throw new BinanceRestError(`GET ${path}: ${cause instanceof Error ? cause.message : String(cause)}`)
        await sleep(Math.min(30_000, 500 * 2 ** failures), signal)
        continue
      }
      this.learnWeight(response, weight)
      if (response.status === 429 || response.status === 418) {
        this.throttled++
        await response.body?.cancel()
        const after = Number(response.headers.get("retry-after"))
        const waitMs = Number.isFinite(after) && after > 0 ? after * 1000 : 60_000
        if (waitMs > this.options.maxRetryAfterMs)
          throw new BinanceRestError(
            `GET ${path}: ${response.status}, Retry-After ${waitMs / 1000} s is too long`
          )
        await sleep(waitMs, signal)
        continue
      }
      if (response.status >= 500) {
        await response.body?.cancel()
        if (++failures >= this.options.attempts)
          throw new BinanceRestError(`GET ${path}: HTTP ${response.status}`)
        await sleep(Math.min(30_000, 500 * 2 ** failures), signal)
        continue
      }
      if (!response.ok) {
        const text = await response.text().catch(() => "")
        throw new BinanceRestError(`GET ${path}: HTTP ${response.status} ${text.slice(0, 200)}`)
      }
      const text = await response.text()
      const receivedNs = nowNs()
      try {
        return { body: JSON.parse(text) as unknown, receivedNs }
      } catch {
        throw new BinanceRestError(`GET ${path}: the answer is not JSON`)
      }
    }
  }

  private learnWeight(response: Response, weight: number): void {
    this.weightSpent += weight
    const header = Number(response.headers.get("x-mbx-used-weight-1m"))
    const minute = Math.floor(Date.now() / 60_000)
    if (Number.isFinite(header) && response.headers.has("x-mbx-used-weight-1m")) {
      this.usedWeight = header
      this.usedMinute = minute
    }
  }

  /** Waits for the next minute when `weight` more would pass the limit (the window is the minute). */
  private async waitForWeight(weight: number): Promise<void> {
    const minute = Math.floor(Date.now() / 60_000)
    if (minute !== this.usedMinute) {
      this.usedWeight = 0
      this.usedMinute = minute
    }
    if (this.usedWeight + weight <= this.weightLimit) {
      this.usedWeight += weight
      return
    }
    await sleep((minute + 1) * 60_000 - Date.now() + 50, this.options.signal)
    this.usedWeight = weight
    this.usedMinute = Math.floor(Date.now() / 60_000)
  }
}
