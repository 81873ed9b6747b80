/**
 * Network failures in words a user can act on: which host, the system's cause (ECONNREFUSED,
 * ENOTFOUND, ETIMEDOUT, ECONNRESET, …) and the one thing to check for that cause. Vendor-neutral:
 * a client names its URL and the setting that holds it.
 *
 * Where the cause is: @effect/platform's undici client puts Node's own error (with `code`,
 * `syscall`, `address`) in `RequestError.cause`; `fetch` wraps it once more in a
 * `TypeError("fetch failed")`; a connection tried on several addresses (happy eyeballs) gathers
 * them in an `AggregateError`. `systemCause` looks through all three.
 */

import { type ErrorShape, findInCauses } from "../domain/systemCause.js"

/** Where a client was sending, and where users change that. */
export interface Endpoint {
  /** The base URL as configured. Only its scheme, host and port are shown (never credentials or a query). */
  readonly url: string
  /** The setting(s) that hold the URL, named in the fix, e.g. "sources.massive.rest_url / TAPEHOUSE_MASSIVE_URL". */
  readonly setting: string
  /** What to start when a loopback URL refuses connections, e.g. "the simulator (tapehouse sim serve)". */
  readonly localServer?: string
}

export interface SystemCause {
  /** `ECONNREFUSED`, `UND_ERR_SOCKET`, …; undefined when the error carries none. */
  readonly code: string | undefined
  readonly name: string
  readonly message: string
}

const fieldString = (e: ErrorShape, key: "code" | "name" | "message"): string | undefined => {
  const v = e[key]
  return typeof v === "string" && v !== "" ? v : undefined
}

/**
 * The first error that carries a `code` (a system errno or a client's own, such as undici's
 * `UND_ERR_SOCKET`) in `error`, its causes and gathered errors, outermost first; else `error`
 * itself (a bare string is taken as the message).
 */
export const systemCause = (error: unknown): SystemCause | undefined => {
  // a client that gives only a description
  if (typeof error === "string")
    return error === "" ? undefined : { code: undefined, name: "Error", message: error }
  const describe = (e: ErrorShape, code: string | undefined): SystemCause => ({
    code,
    name: fieldString(e, "name") ?? "Error",
    message: fieldString(e, "message") ?? ""
  })
  return (
    findInCauses(error, (e) => {
      const code = fieldString(e, "code")
      return code === undefined ? undefined : describe(e, code)
    }) ?? (typeof error === "object" && error !== null ? describe(error as ErrorShape, undefined) : undefined)
  )
}

/** Scheme, host and port of a URL (no user info, path or query); the text itself when it is no URL. */
export const origin = (url: string): string => {
  try {
    return new URL(url).origin
  } catch {
    return url
  }
}

const hostOf = (url: string): string => {
  try {
    return new URL(url).hostname
  } catch {
    return url
  }
}

const isLoopback = (host: string): boolean =>
  host === "localhost" || host === "[::1]" || host === "::1" || /^127\.\d+\.\d+\.\d+$/.test(host)

const TIMEOUT_CODES = new Set([
  "ETIMEDOUT",
  "UND_ERR_CONNECT_TIMEOUT",
  "UND_ERR_HEADERS_TIMEOUT",
  "UND_ERR_BODY_TIMEOUT"
])
const CUT_CODES = new Set(["ECONNRESET", "EPIPE", "ECONNABORTED", "UND_ERR_SOCKET", "UND_ERR_CLOSED"])
const NO_ROUTE_CODES = new Set(["EHOSTUNREACH", "ENETUNREACH", "ENETDOWN", "EHOSTDOWN"])
const isTlsCode = (code: string): boolean =>
  code === "EPROTO" ||
  code.startsWith("ERR_TLS_") ||
  code.startsWith("ERR_SSL_") ||
  code.startsWith("CERT_") ||
  code.includes("_CERT") ||
  code.startsWith("UNABLE_TO_")

/**
 * One sentence for a request that got no usable answer from the network: what happened, at which
 * host, the system's code, then what to check. `error` is what the HTTP client failed with.
 */
export const describeNetworkError = (error: unknown, endpoint: Endpoint): string => {
  const url = origin(endpoint.url)
  const host = hostOf(endpoint.url)
  const cause = systemCause(error)
  const code = cause?.code
  const tag = (c: string) => (cause?.message ? `${c}: ${cause.message}` : c)
  if (code === "ECONNREFUSED") {
    const local =
      endpoint.localServer !== undefined && isLoopback(host) ? `, or start ${endpoint.localServer}` : ""
    return `${url} refused the connection (ECONNREFUSED): nothing listens there; check ${endpoint.setting}${local}`
  }
  if (code === "ENOTFOUND")
    return `the host name ${host} (in ${url}) does not resolve (ENOTFOUND): check its spelling in ${endpoint.setting}, and this machine's DNS`
  if (code === "EAI_AGAIN")
    return `looking up the host name ${host} failed for now (EAI_AGAIN, DNS did not answer): check this machine's network connection and DNS resolver`
  if (code !== undefined && TIMEOUT_CODES.has(code))
    return `connecting to ${url} timed out (${code}): the network or a firewall drops the traffic; check that this machine can reach ${host} (firewall, proxy, VPN)`
  if (code !== undefined && NO_ROUTE_CODES.has(code))
    return `no route to ${url} (${code}): check this machine's network connection, VPN or firewall`
  if (code !== undefined && CUT_CODES.has(code))
    return `the connection to ${url} was cut (${tag(code)}): the server or a proxy in between closed it; if it keeps happening, check the proxy or VPN, or the server's health`
  if (code !== undefined && isTlsCode(code))
    return `TLS with ${url} failed (${code}): check the scheme in ${endpoint.setting} (http:// for a local simulator, https:// for the vendor) and the server's certificate; behind a TLS-inspecting proxy, set NODE_EXTRA_CA_CERTS`
  if (cause?.name === "HTTPParserError" || code?.startsWith("HPE_") === true)
    return `${url} does not speak HTTP (${tag(code ?? cause?.name ?? "HTTPParserError")}): check the scheme and port in ${endpoint.setting}`
  const what = code === undefined ? (cause?.message ? cause.message : "no cause given") : tag(code)
  return `network error reaching ${url} (${what}): check ${endpoint.setting} and this machine's network connection`
}

/** A request that got no answer within the client's own time limit. */
export const describeTimeout = (endpoint: Endpoint, ms: number, timeoutSetting: string): string => {
  const url = origin(endpoint.url)
  return `no response from ${url} within ${ms} ms (timeout): the network or a firewall may drop the traffic, or the server is overloaded; check that this machine can reach ${hostOf(endpoint.url)}, or raise ${timeoutSetting}`
}

/** A response whose body broke off (a cut connection), with the cause and what to check. */
export const describeBrokenBody = (error: unknown, endpoint: Endpoint, status: number): string => {
  const url = origin(endpoint.url)
  const cause = systemCause(error)
  const why = cause === undefined ? "no cause given" : `${cause.code ?? cause.name}: ${cause.message}`
  return `the body of an HTTP ${status} answer from ${url} broke off (${why}): the server or a proxy in between cut the connection`
}
