/**
 * A bare Postgres wire-protocol client, for tests that must control how a client's messages are
 * cut into TCP writes (node-postgres always writes a whole exchange at once).
 */
import * as Net from "node:net"

const int16 = (n: number) => {
  const b = Buffer.alloc(2)
  b.writeInt16BE(n)
  return b
}
const int32 = (n: number) => {
  const b = Buffer.alloc(4)
  b.writeInt32BE(n)
  return b
}
const cstring = (s: string) => Buffer.from(`${s}\0`, "utf8")

const message = (type: string, ...parts: ReadonlyArray<Buffer>) => {
  const body = Buffer.concat(parts)
  return Buffer.concat([Buffer.from(type, "ascii"), int32(4 + body.length), body])
}

export const startup = (): Buffer => {
  const body = Buffer.concat([
    int32(196608),
    cstring("user"),
    cstring("postgres"),
    cstring("database"),
    cstring("postgres"),
    Buffer.from([0])
  ])
  return Buffer.concat([int32(4 + body.length), body])
}
/** Parse into the unnamed statement, parameter types left to the server. */
export const parse = (sql: string): Buffer => message("P", cstring(""), cstring(sql), int16(0))
/** Bind text parameters to the unnamed statement, into the unnamed portal; text results. */
export const bind = (params: ReadonlyArray<string>): Buffer =>
  message(
    "B",
    cstring(""),
    cstring(""),
    int16(0),
    int16(params.length),
    ...params.flatMap((p) => {
      const bytes = Buffer.from(p, "utf8")
      return [int32(bytes.length), bytes]
    }),
    int16(0)
  )
export const describePortal = (): Buffer => message("D", Buffer.from("P", "ascii"), cstring(""))
export const execute = (): Buffer => message("E", cstring(""), int32(0))
export const sync = (): Buffer => message("S")

export interface Reply {
  readonly rows: ReadonlyArray<ReadonlyArray<string | null>>
  readonly errors: ReadonlyArray<string>
}

export interface WireClient {
  readonly send: (bytes: Buffer) => void
  /** The rows and errors up to the next ReadyForQuery. */
  readonly reply: () => Promise<Reply>
  readonly close: () => void
}

export const connect = async (host: string, port: number): Promise<WireClient> => {
  const socket = Net.connect({ host, port })
  await new Promise<void>((resolve, reject) => {
    socket.once("connect", resolve)
    socket.once("error", reject)
  })
  let buffer = Buffer.alloc(0)
  let rows: Array<Array<string | null>> = []
  let errors: Array<string> = []
  const waiting: Array<(reply: Reply) => void> = []
  const ready: Array<Reply> = []
  socket.on("data", (data: Buffer) => {
    buffer = Buffer.concat([buffer, data])
    while (buffer.length >= 5) {
      const length = buffer.readInt32BE(1)
      if (buffer.length < 1 + length) break
      const type = String.fromCharCode(buffer[0] ?? 0)
      const body = buffer.subarray(5, 1 + length)
      buffer = buffer.subarray(1 + length)
      if (type === "D") {
        const row: Array<string | null> = []
        let at = 2
        for (let i = 0; i < body.readInt16BE(0); i++) {
          const n = body.readInt32BE(at)
          at += 4
          row.push(n < 0 ? null : body.subarray(at, at + n).toString("utf8"))
          at += Math.max(n, 0)
        }
        rows.push(row)
      } else if (type === "E") {
        const text = body.toString("utf8")
        const field = text.split("\0").find((f) => f.startsWith("M"))
        errors.push(field?.slice(1) ?? text)
      } else if (type === "Z") {
        const reply = { rows, errors }
        rows = []
        errors = []
        const next = waiting.shift()
        if (next === undefined) ready.push(reply)
        else next(reply)
      }
    }
  })
  const client: WireClient = {
    send: (bytes) => void socket.write(bytes),
    reply: () => {
      const done = ready.shift()
      return done !== undefined ? Promise.resolve(done) : new Promise((resolve) => waiting.push(resolve))
    },
    close: () => void socket.destroy()
  }
  client.send(startup())
  await client.reply()
  return client
}
