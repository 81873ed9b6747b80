import { randomBytes } from "node:crypto"
import * as fs from "node:fs/promises"
import * as os from "node:os"
import * as path from "node:path"
import { Either, Redacted } from "effect"
import { describe, expect, it } from "vitest"
import { readSegmentBytes, writeSegmentFile } from "../../src/books/bookSegments.js"
import {
  BOOK_KEY_ENV,
  type BookKey,
  bookKeyFromEnv,
  DecryptError,
  decryptBytes,
  encryptBytes,
  encryptedLength,
  isEncrypted,
  parseBookKey
} from "../../src/books/encryption.js"

const keyOf = (hex: string): BookKey => Either.getOrThrow(parseBookKey(hex))
const KEY = keyOf("11".repeat(32))
const OTHER = keyOf("22".repeat(32))

const errorOf = (f: () => unknown): DecryptError => {
  try {
    f()
  } catch (e) {
    if (e instanceof DecryptError) return e
    throw e
  }
  throw new Error("no error")
}

describe("parseBookKey / bookKeyFromEnv", () => {
  it("takes 64 hex digits or base64 of 32 bytes, as Redacted", () => {
    const bytes = randomBytes(32)
    for (const text of [bytes.toString("hex"), bytes.toString("base64"), bytes.toString("base64url")]) {
      const key = Either.getOrThrow(parseBookKey(text))
      expect(Buffer.from(Redacted.value(key)).equals(bytes)).toBe(true)
      expect(String(key)).toBe("<redacted>")
    }
  })

  it("names the variable and never the value when the key is missing or malformed", () => {
    const missing = bookKeyFromEnv(true, {})
    expect(Either.isLeft(missing) && missing.left.key).toBe(BOOK_KEY_ENV)
    const secret = "abcd".repeat(15) // 60 hex digits: too short
    const bad = bookKeyFromEnv(true, { [BOOK_KEY_ENV]: secret })
    expect(Either.isLeft(bad) && bad.left.key).toBe(BOOK_KEY_ENV)
    expect(Either.isLeft(bad) && bad.left.message).not.toContain(secret)
    expect(Either.isLeft(parseBookKey(randomBytes(16).toString("base64")))).toBe(true)
    expect(bookKeyFromEnv(false, {})).toEqual(Either.right(undefined))
  })
})

describe("encryptBytes / decryptBytes", () => {
  it("round-trips empty, one-chunk and many-chunk plaintexts", () => {
    for (const length of [0, 1, 100, 1000, 1024, 4096 + 7]) {
      const plain = randomBytes(length)
      const sealed = encryptBytes(KEY, plain, 1024)
      expect(sealed.length).toBe(encryptedLength(length, 1024))
      expect(isEncrypted(sealed)).toBe(true)
      // The plaintext does not show through.
      if (length >= 100) expect(Buffer.from(sealed).includes(plain.subarray(0, 32))).toBe(false)
      const opened = decryptBytes(KEY, sealed, "f.parquet")
      expect(Buffer.from(opened).equals(plain)).toBe(true)
      // Its own memory (not a view into Node's Buffer pool): readers pass .buffer on as the file.
      expect(opened.buffer.byteLength).toBe(length)
    }
  })

  it("fails naming the file and the wrong key", () => {
    const sealed = encryptBytes(KEY, randomBytes(300))
    const e = errorOf(() => decryptBytes(OTHER, sealed, "lake/x/part-1.parquet"))
    expect(e.message).toContain("lake/x/part-1.parquet")
    expect(e.message).toContain("different key")
  })

  it("detects a tampered byte anywhere, a cut-short file and a plain file", () => {
    const plain = randomBytes(3000)
    const sealed = encryptBytes(KEY, plain, 1024)
    for (const at of [40, 1024 + 36 + 16 + 5, sealed.length - 1, 33 /* nonce prefix */]) {
      const bad = Uint8Array.from(sealed)
      bad[at] = bad[at]! ^ 0x01
      expect(errorOf(() => decryptBytes(KEY, bad, "seg")).message).toMatch(/altered or is damaged/)
    }
    const lengthEdit = Uint8Array.from(sealed)
    lengthEdit[19] = lengthEdit[19]! ^ 0x01
    expect(errorOf(() => decryptBytes(KEY, lengthEdit, "seg")).message).toMatch(/cut short/)
    expect(errorOf(() => decryptBytes(KEY, sealed.subarray(0, sealed.length - 16), "seg")).message).toMatch(
      /cut short/
    )
    expect(errorOf(() => decryptBytes(KEY, plain, "seg")).message).toMatch(/not a tapehouse encrypted file/)
  })
})

describe("segment files with book.encrypt", () => {
  it("are written encrypted and read back transparently; a wrong or missing key names the file", async () => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), "th-enc-"))
    try {
      const file = path.join(dir, "seg-000000000001.parquet")
      const plain = randomBytes(5000)
      await writeSegmentFile(file, plain, KEY)
      const stored = await fs.readFile(file)
      expect(isEncrypted(stored)).toBe(true)
      expect(Buffer.from(await readSegmentBytes(file, KEY)).equals(plain)).toBe(true)
      await expect(readSegmentBytes(file, OTHER)).rejects.toThrow(/seg-000000000001\.parquet.*different key/)
      await expect(readSegmentBytes(file)).rejects.toThrow(/TAPEHOUSE_BOOK_KEY is not set/)
      // Without book.encrypt the file is plain Parquet bytes, read the same way.
      await writeSegmentFile(file, plain)
      expect(Buffer.from(await readSegmentBytes(file, KEY)).equals(plain)).toBe(true)
    } finally {
      await fs.rm(dir, { recursive: true, force: true })
    }
  })
})
