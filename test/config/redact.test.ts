import { describe, expect, it } from "@effect/vitest"
import { Cause, Data } from "effect"
import { makeRedactor, maskSecret } from "../../src/config/redact.js"

const KEY = "sk_live_9f8e7d6c5b4a3210ZYXW"

describe("maskSecret", () => {
  it("keeps at most the last 4 characters", () => {
    expect(maskSecret(KEY)).toBe("****ZYXW")
    expect(maskSecret("abcdefghijkl")).toBe("****ijkl")
  })
  it("masks short secrets fully", () => {
    expect(maskSecret("hunter2")).toBe("****")
    expect(maskSecret("")).toBe("****")
  })
})

describe("makeRedactor", () => {
  const redact = makeRedactor([KEY, "postgres://app:s3cr3t-Pa55word@db.internal:5432/lake"])

  it("replaces every occurrence of each secret", () => {
    const out = redact(`key ${KEY} and again ${KEY}!`)
    expect(out).toBe("key ****ZYXW and again ****ZYXW!")
  })

  it("masks the URL-encoded form and a URL's password", () => {
    const special = "ab/cd+ef=gh&ij"
    const r = makeRedactor([special, "postgres://app:s3cr3t-Pa55word@db.internal:5432/lake"])
    expect(r(`q=${encodeURIComponent(special)}`)).not.toContain(encodeURIComponent(special))
    expect(r("password s3cr3t-Pa55word leaked")).not.toContain("s3cr3t-Pa55word")
  })

  it("masks apiKey query parameters whatever the secret list", () => {
    const r = makeRedactor([])
    const out = r(
      "GET https://api.massive.com/v2/aggs/ticker/AAPL?adjusted=true&apiKey=OTHERKEY123456789&limit=5"
    )
    expect(out).not.toContain("OTHERKEY123456789")
    expect(out).toContain("adjusted=true&apiKey=****6789&limit=5")
    expect(r("?api_key=abcdefghijklmnop")).toBe("?api_key=****mnop")
  })

  it("masks Authorization headers and bearer tokens", () => {
    const r = makeRedactor([])
    expect(r("Authorization: Bearer tok_abcdefghijklmnop")).toBe("Authorization: Bearer ****mnop")
    expect(r('{"authorization":"Bearer tok_abcdefghijklmnop"}')).not.toContain("tok_abcdefghijklmnop")
    expect(r("authorization: Basic dXNlcjpwYXNzd29yZA==")).not.toContain("dXNlcjpwYXNzd29yZA==")
    expect(r("sent Bearer tok_abcdefghijklmnop upstream")).not.toContain("tok_abcdefghijklmnop")
  })

  it("masks passwords in postgres URLs whatever the secret list", () => {
    const r = makeRedactor([])
    expect(r("connecting to postgres://user:pw12@localhost:5432/db")).toBe(
      "connecting to postgres://user:****@localhost:5432/db"
    )
    expect(r("postgresql://u:averyverylongpassword@h/db")).toBe("postgresql://u:****word@h/db")
    // a port is not a password
    expect(r("http://127.0.0.1:8787/v2/aggs")).toBe("http://127.0.0.1:8787/v2/aggs")
  })

  it("masks secrets inside a pretty-printed cause", () => {
    class Boom extends Data.TaggedError("Boom")<{ readonly url: string }> {
      override get message() {
        return `request to ${this.url} failed`
      }
    }
    const cause = Cause.fail(new Boom({ url: `https://api.massive.com/v3?apiKey=${KEY}` }))
    const text = redact(Cause.pretty(cause, { renderErrorCause: true }))
    expect(text).toContain("request to https://api.massive.com/v3?apiKey=****ZYXW failed")
    expect(text).not.toContain(KEY)
  })

  it("leaves ordinary text alone (its speed: bench/decoding.ts)", () => {
    const line = "backfill AAPL 2024-05-01: 23400 rows in 3 pages, committed to parquet and sql"
    expect(redact(line)).toBe(line)
  })
})
