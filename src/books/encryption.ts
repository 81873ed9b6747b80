/**
 * Encryption at rest of order-book capture files (`book.encrypt: true`): AES-256-GCM with a key
 * from the environment (TAPEHOUSE_BOOK_KEY), held as `Redacted` and unwrapped only here.
 *
 * File envelope (all integers big-endian):
 *
 *   magic "THBKENC" (7 bytes) | version 1 (1) | chunk size (4) | plaintext length (8)
 *   | key id (8) | nonce prefix (8)                                  = 36-byte header
 *   then per chunk: ciphertext (chunk size bytes; the last one shorter) | GCM tag (16)
 *
 * The plaintext is cut in chunks (1 MiB by default) each sealed on its own: GCM's limits hold for
 * files of any size, a damaged chunk is named, and a reader could open a byte range by decrypting
 * only the chunks it covers (the segment reader decrypts whole files: they are bounded by
 * book.segment_bytes). Chunk i's
 * nonce is the random 8-byte prefix followed by i, and every chunk authenticates the whole header
 * as additional data, so a chunk moved, a header field changed or a file cut short fails to
 * decrypt. The key id (HMAC-SHA-256 of a fixed label under the key, 8 bytes) tells a wrong key
 * apart from a damaged file, so the error can say which.
 */
import { createCipheriv, createDecipheriv, createHmac, randomBytes } from "node:crypto"
import { Either, Redacted } from "effect"
import { ConfigError } from "../domain/errors.js"

/** The environment variable holding the key. */
export const BOOK_KEY_ENV = "TAPEHOUSE_BOOK_KEY"

const MAGIC = Buffer.from("THBKENC", "latin1")
const VERSION = 1
export const HEADER_BYTES = 36
const TAG_BYTES = 16
const KEY_BYTES = 32
export const DEFAULT_CHUNK_BYTES = 1 << 20

/** A file could not be decrypted: wrong key, altered or cut-short bytes, or not an envelope. */
export class DecryptError extends Error {
  readonly _tag = "DecryptError"
  constructor(
    readonly file: string,
    readonly reason: string,
    /** `key`: the key is missing or another one; `damaged`: the bytes are wrong or not an envelope. */
    readonly problem: "key" | "damaged" = "damaged"
  ) {
    super(`cannot decrypt ${file}: ${reason}`)
    this.name = "DecryptError"
  }
}

/** The key, checked: 32 bytes. Build it with `parseBookKey`. */
export type BookKey = Redacted.Redacted<Uint8Array>

const EXPECTED_KEY =
  "32 random bytes as 64 hex digits or as base64 (e.g. the output of `openssl rand -hex 32`)"

/**
 * The key from its text: 64 hex digits or the base64 of 32 bytes. The error names the variable and
 * never the value.
 */
export const parseBookKey = (text: string, source = "environment"): Either.Either<BookKey, ConfigError> => {
  const t = text.trim()
  let bytes: Buffer | undefined
  if (/^[0-9a-fA-F]{64}$/.test(t)) bytes = Buffer.from(t, "hex")
  else if (/^[A-Za-z0-9+/_-]{43}={0,1}$/.test(t)) {
    const decoded = Buffer.from(t.replace(/-/g, "+").replace(/_/g, "/"), "base64")
    if (decoded.length === KEY_BYTES) bytes = decoded
  }
  if (bytes === undefined) {
    const value = t === "" ? "(empty)" : `(${t.length} characters, not shown)`
    return Either.left(new ConfigError({ key: BOOK_KEY_ENV, value, expected: EXPECTED_KEY, source }))
  }
  return Either.right(Redacted.make(new Uint8Array(bytes)))
}

/**
 * The key `book.encrypt` needs: None when encryption is off, the parsed key when on; a missing or
 * malformed key with encryption on is a ConfigError naming TAPEHOUSE_BOOK_KEY (exit code 2).
 */
export const bookKeyFromEnv = (
  encrypt: boolean,
  env: Readonly<Record<string, string | undefined>>
): Either.Either<BookKey | undefined, ConfigError> => {
  if (!encrypt) return Either.right(undefined)
  const text = env[BOOK_KEY_ENV]
  if (text === undefined)
    return Either.left(
      new ConfigError({
        key: BOOK_KEY_ENV,
        value: "(not set)",
        expected: `${EXPECTED_KEY}, since book.encrypt is true`,
        source: "environment"
      })
    )
  return parseBookKey(text)
}

const keyIdOf = (key: Uint8Array): Buffer =>
  createHmac("sha256", key).update("tapehouse book key id v1").digest().subarray(0, 8)

/** True when `bytes` starts with the envelope's magic (the reader then decrypts). */
export const isEncrypted = (bytes: Uint8Array): boolean =>
  bytes.length >= MAGIC.length && Buffer.from(bytes.buffer, bytes.byteOffset, MAGIC.length).equals(MAGIC)

const nonceOf = (prefix: Uint8Array, index: number): Buffer => {
  const nonce = Buffer.alloc(12)
  nonce.set(prefix, 0)
  nonce.writeUInt32BE(index, 8)
  return nonce
}

const chunkCount = (plainLength: number, chunkBytes: number): number =>
  Math.max(1, Math.ceil(plainLength / chunkBytes))

/** Bytes of the envelope holding `plainLength` bytes of plaintext. */
export const encryptedLength = (plainLength: number, chunkBytes = DEFAULT_CHUNK_BYTES): number =>
  HEADER_BYTES + plainLength + chunkCount(plainLength, chunkBytes) * TAG_BYTES

/** Seals `plain` in the envelope under `key`. */
export const encryptBytes = (
  key: BookKey,
  plain: Uint8Array,
  chunkBytes: number = DEFAULT_CHUNK_BYTES
): Uint8Array => {
  const raw = Redacted.value(key)
  const header = Buffer.alloc(HEADER_BYTES)
  MAGIC.copy(header, 0)
  header.writeUInt8(VERSION, 7)
  header.writeUInt32BE(chunkBytes, 8)
  header.writeBigUInt64BE(BigInt(plain.length), 12)
  keyIdOf(raw).copy(header, 20)
  const prefix = randomBytes(8)
  prefix.copy(header, 28)
  const out = Buffer.allocUnsafe(encryptedLength(plain.length, chunkBytes))
  header.copy(out, 0)
  let at = HEADER_BYTES
  const n = chunkCount(plain.length, chunkBytes)
  for (let i = 0; i < n; i++) {
    const cipher = createCipheriv("aes-256-gcm", raw, nonceOf(prefix, i))
    cipher.setAAD(header)
    const part = plain.subarray(i * chunkBytes, Math.min(plain.length, (i + 1) * chunkBytes))
    at += cipher.update(part).copy(out, at)
    at += cipher.final().copy(out, at)
    at += cipher.getAuthTag().copy(out, at)
  }
  return out
}

interface Envelope {
  readonly header: Buffer
  readonly chunkBytes: number
  readonly plainLength: number
  readonly prefix: Buffer
}

const readHeader = (file: string, head: Uint8Array, fileBytes: number, key: Uint8Array): Envelope => {
  if (!isEncrypted(head) || head.length < HEADER_BYTES)
    throw new DecryptError(file, "it is not a tapehouse encrypted file (no THBKENC header)")
  const header = Buffer.from(head.subarray(0, HEADER_BYTES))
  const version = header.readUInt8(7)
  if (version !== VERSION)
    throw new DecryptError(
      file,
      `envelope version ${version} is not known to this tapehouse (expected ${VERSION})`
    )
  const chunkBytes = header.readUInt32BE(8)
  const plainLength = Number(header.readBigUInt64BE(12))
  if (chunkBytes === 0 || !Number.isSafeInteger(plainLength))
    throw new DecryptError(file, "the header is damaged")
  if (!header.subarray(20, 28).equals(keyIdOf(key)))
    throw new DecryptError(
      file,
      `it was encrypted with a different key than ${BOOK_KEY_ENV} holds; set the key it was written with`,
      "key"
    )
  const expected = encryptedLength(plainLength, chunkBytes)
  if (fileBytes !== expected)
    throw new DecryptError(
      file,
      `it holds ${fileBytes} bytes where its header announces ${expected}: it was cut short or appended to`
    )
  return { header, chunkBytes, plainLength, prefix: header.subarray(28, 36) }
}

/** Ciphertext+tag of chunk i as stored; its offset in the file. */
const chunkSpan = (env: Envelope, i: number): { readonly start: number; readonly plain: number } => ({
  start: HEADER_BYTES + i * (env.chunkBytes + TAG_BYTES),
  plain: Math.min(env.chunkBytes, env.plainLength - i * env.chunkBytes)
})

const openChunk = (file: string, env: Envelope, key: Uint8Array, i: number, sealed: Uint8Array): Buffer => {
  const plain = sealed.length - TAG_BYTES
  const decipher = createDecipheriv("aes-256-gcm", key, nonceOf(env.prefix, i))
  decipher.setAAD(env.header)
  decipher.setAuthTag(sealed.subarray(plain))
  try {
    return Buffer.concat([decipher.update(sealed.subarray(0, plain)), decipher.final()])
  } catch {
    throw new DecryptError(file, `chunk ${i} fails authentication: the file was altered or is damaged`)
  }
}

/**
 * The plaintext of a file's bytes: an envelope is opened with `key`, other bytes are returned as
 * they are. An envelope without a key, or under another key, throws DecryptError (`problem` "key").
 */
export const openFileBytes = (bytes: Uint8Array, file: string, key: BookKey | undefined): Uint8Array => {
  if (!isEncrypted(bytes)) return bytes
  if (key === undefined)
    throw new DecryptError(
      file,
      `it is encrypted and ${BOOK_KEY_ENV} is not set; set the key it was written with`,
      "key"
    )
  return decryptBytes(key, bytes, file)
}

/** Opens an envelope held in memory; `file` names it in errors. Throws DecryptError. */
export const decryptBytes = (key: BookKey, sealed: Uint8Array, file: string): Uint8Array => {
  const raw = Redacted.value(key)
  const env = readHeader(file, sealed, sealed.length, raw)
  // A plain Uint8Array of its own (not a view into Node's shared Buffer pool), so readers can
  // hand its .buffer to a Parquet reader as the file.
  const out = new Uint8Array(env.plainLength)
  const n = chunkCount(env.plainLength, env.chunkBytes)
  for (let i = 0; i < n; i++) {
    const { start, plain } = chunkSpan(env, i)
    out.set(
      openChunk(file, env, raw, i, sealed.subarray(start, start + plain + TAG_BYTES)),
      i * env.chunkBytes
    )
  }
  return out
}
