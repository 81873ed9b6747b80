import { describe, expect, it } from "@effect/vitest"
import * as NetworkError from "../../src/sources/networkError.js"

const massive: NetworkError.Endpoint = {
  url: "https://api.massive.com",
  setting: "sources.massive.rest_url / TAPEHOUSE_MASSIVE_URL",
  localServer: "the simulator (tapehouse sim serve)"
}

/** A Node system error as `net`/`dns` make it: message, `code`, `errno`, `syscall` and the address. */
const systemError = (message: string, fields: Record<string, unknown>): Error =>
  Object.assign(new Error(message), fields)

/** An undici error: its own class name and `UND_ERR_*` code. */
const undiciError = (name: string, code: string, message: string): Error =>
  Object.assign(new Error(message), { name, code })

describe("NetworkError.systemCause", () => {
  it("reads the code where undici, fetch and happy eyeballs put it", () => {
    const refused = systemError("connect ECONNREFUSED 127.0.0.1:8787", {
      code: "ECONNREFUSED",
      errno: -111,
      syscall: "connect",
      address: "127.0.0.1",
      port: 8787
    })
    // undici's dispatcher: the system error itself
    expect(NetworkError.systemCause(refused)?.code).toBe("ECONNREFUSED")
    // fetch: TypeError("fetch failed") with the system error as `cause`
    expect(NetworkError.systemCause(new TypeError("fetch failed", { cause: refused }))?.code).toBe(
      "ECONNREFUSED"
    )
    // several addresses tried: an AggregateError gathering one error per address
    const v6 = systemError("connect ECONNREFUSED ::1:8787", { code: "ECONNREFUSED", syscall: "connect" })
    expect(NetworkError.systemCause(new AggregateError([v6, refused]))?.code).toBe("ECONNREFUSED")
    // no code anywhere: the error's own name and message
    expect(NetworkError.systemCause(new Error("boom"))).toEqual({
      code: undefined,
      name: "Error",
      message: "boom"
    })
    expect(NetworkError.systemCause(undefined)).toBeUndefined()
    // only a description, as some clients give
    expect(NetworkError.systemCause("socket hang up")).toEqual({
      code: undefined,
      name: "Error",
      message: "socket hang up"
    })
  })
})

describe("NetworkError.describeNetworkError: host, cause and the one action", () => {
  it("ECONNREFUSED on loopback: nothing listens, check the URL settings or start the simulator", () => {
    const local = { ...massive, url: "http://127.0.0.1:8787/" }
    const e = systemError("connect ECONNREFUSED 127.0.0.1:8787", {
      code: "ECONNREFUSED",
      errno: -111,
      syscall: "connect",
      address: "127.0.0.1",
      port: 8787
    })
    expect(NetworkError.describeNetworkError(e, local)).toBe(
      "http://127.0.0.1:8787 refused the connection (ECONNREFUSED): nothing listens there; check sources.massive.rest_url / TAPEHOUSE_MASSIVE_URL, or start the simulator (tapehouse sim serve)"
    )
    // a remote host: no simulator to start
    expect(NetworkError.describeNetworkError(e, { ...massive, url: "http://10.0.0.5:8080" })).toBe(
      "http://10.0.0.5:8080 refused the connection (ECONNREFUSED): nothing listens there; check sources.massive.rest_url / TAPEHOUSE_MASSIVE_URL"
    )
  })

  it("ENOTFOUND: the host name, its setting and DNS", () => {
    const e = systemError("getaddrinfo ENOTFOUND api.massive.cmo", {
      code: "ENOTFOUND",
      errno: -3008,
      syscall: "getaddrinfo",
      hostname: "api.massive.cmo"
    })
    expect(NetworkError.describeNetworkError(e, { ...massive, url: "https://api.massive.cmo" })).toBe(
      "the host name api.massive.cmo (in https://api.massive.cmo) does not resolve (ENOTFOUND): check its spelling in sources.massive.rest_url / TAPEHOUSE_MASSIVE_URL, and this machine's DNS"
    )
  })

  it("EAI_AGAIN: DNS did not answer", () => {
    const e = systemError("getaddrinfo EAI_AGAIN api.massive.com", {
      code: "EAI_AGAIN",
      errno: -3001,
      syscall: "getaddrinfo",
      hostname: "api.massive.com"
    })
    expect(NetworkError.describeNetworkError(e, massive)).toMatch(
      /^looking up the host name api\.massive\.com failed for now \(EAI_AGAIN, DNS did not answer\): check this machine's network connection and DNS resolver$/
    )
  })

  it("ETIMEDOUT and undici's connect timeout: network or firewall", () => {
    const system = systemError("connect ETIMEDOUT 198.51.100.7:443", {
      code: "ETIMEDOUT",
      errno: -110,
      syscall: "connect",
      address: "198.51.100.7",
      port: 443
    })
    const undici = undiciError(
      "ConnectTimeoutError",
      "UND_ERR_CONNECT_TIMEOUT",
      "Connect Timeout Error (attempted address: api.massive.com:443, timeout: 10000ms)"
    )
    for (const [e, code] of [
      [system, "ETIMEDOUT"],
      [undici, "UND_ERR_CONNECT_TIMEOUT"]
    ] as const) {
      expect(NetworkError.describeNetworkError(e, massive)).toBe(
        `connecting to https://api.massive.com timed out (${code}): the network or a firewall drops the traffic; check that this machine can reach api.massive.com (firewall, proxy, VPN)`
      )
    }
  })

  it("EHOSTUNREACH / ENETUNREACH: no route", () => {
    const e = systemError("connect ENETUNREACH 198.51.100.7:443", {
      code: "ENETUNREACH",
      errno: -101,
      syscall: "connect"
    })
    expect(NetworkError.describeNetworkError(e, massive)).toBe(
      "no route to https://api.massive.com (ENETUNREACH): check this machine's network connection, VPN or firewall"
    )
  })

  it("ECONNRESET and undici's closed socket: the connection was cut", () => {
    const reset = systemError("read ECONNRESET", { code: "ECONNRESET", errno: -104, syscall: "read" })
    expect(NetworkError.describeNetworkError(reset, massive)).toBe(
      "the connection to https://api.massive.com was cut (ECONNRESET: read ECONNRESET): the server or a proxy in between closed it; if it keeps happening, check the proxy or VPN, or the server's health"
    )
    const closed = undiciError("SocketError", "UND_ERR_SOCKET", "other side closed")
    expect(NetworkError.describeNetworkError(closed, massive)).toContain(
      "was cut (UND_ERR_SOCKET: other side closed)"
    )
  })

  it("TLS failures: the scheme and the certificate", () => {
    const wrongScheme = systemError(
      "80FC217C467F0000:error:0A00010B:SSL routines:ssl3_get_record:wrong version number",
      {
        code: "ERR_SSL_WRONG_VERSION_NUMBER"
      }
    )
    const expired = systemError("certificate has expired", { code: "CERT_HAS_EXPIRED" })
    for (const e of [wrongScheme, expired]) {
      const text = NetworkError.describeNetworkError(e, massive)
      expect(text).toMatch(
        /^TLS with https:\/\/api\.massive\.com failed \((ERR_SSL_WRONG_VERSION_NUMBER|CERT_HAS_EXPIRED)\): check the scheme in sources\.massive\.rest_url/
      )
      // OpenSSL's multi-line internals stay out
      expect(text).not.toContain("ssl3_get_record")
    }
  })

  it("an unknown cause still names the host, the code or message, and the setting", () => {
    const e = systemError("something odd", { code: "EWEIRD" })
    expect(NetworkError.describeNetworkError(e, massive)).toBe(
      "network error reaching https://api.massive.com (EWEIRD: something odd): check sources.massive.rest_url / TAPEHOUSE_MASSIVE_URL and this machine's network connection"
    )
    expect(NetworkError.describeNetworkError(undefined, massive)).toContain("(no cause given)")
  })

  it("shows only scheme, host and port of the URL: never user info, path or query", () => {
    const e = systemError("connect ECONNREFUSED 10.0.0.5:8080", { code: "ECONNREFUSED" })
    const text = NetworkError.describeNetworkError(e, {
      ...massive,
      url: "http://user:hunter2@10.0.0.5:8080/base?apiKey=SECRET"
    })
    expect(text).toContain("http://10.0.0.5:8080 refused the connection")
    expect(text).not.toMatch(/hunter2|SECRET|apiKey|user/)
  })
})
