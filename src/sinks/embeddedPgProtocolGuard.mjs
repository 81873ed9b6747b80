// Makes pglite-socket's sharing of the one PGlite session safe at protocol level (see EmbeddedPg.ts).
//
// pglite-socket 0.2 queues every client's protocol messages onto the single backend, one message at
// a time, and only keeps other clients out while `db.isInTransaction()` (an explicit BEGIN block).
// Between messages of one extended-protocol exchange (Parse, Bind, Execute … Sync), another
// client's message can run: a client whose Bind arrives in several TCP
// reads then executes the other client's statement with its own parameters (seen with a 1 MB
// parameter: wrong rows, no error). Here the database handed to the socket server also reports
// "in transaction" from a client's first message until the backend answers ReadyForQuery with
// status idle, so the queue serves that client alone until its exchange is complete.
//
// COPY … FROM STDIN (psql's \copy) cannot work over PGlite: the backend reads past the end of the
// message it was given, takes that for a lost client and ends itself with FATAL, after which the
// database answers nobody until it is reopened (seen with psql). Such a query is replaced by one
// that fails with an explanation, so only that client gets an error.
//
// Plain JavaScript: it runs on the database's worker thread, which needs no TypeScript loader.

/** ReadyForQuery: 'Z', length 5, then the transaction status ('I' idle, 'T' in a block, 'E' failed block). */
const READY = 0x5a
const IDLE = 0x49
const TERMINATE = 0x58

const QUERY = 0x51

/** A simple-protocol Query message carrying `text`. */
const queryMessage = (text) => {
  const body = Buffer.from(`${text}\0`, "utf8")
  const message = Buffer.alloc(5 + body.length)
  message.writeUInt8(QUERY, 0)
  message.writeInt32BE(4 + body.length, 1)
  body.copy(message, 5)
  return message
}

const copyFromStdin = /\bcopy\b[^;]*\bfrom\s+stdin\b/i

const refuseCopyFromStdin = new Uint8Array(
  queryMessage(
    "DO $tapehouse$BEGIN RAISE EXCEPTION USING ERRCODE = 'feature_not_supported', " +
      "MESSAGE = 'COPY FROM STDIN is not supported by the embedded database server (PGlite)', " +
      "HINT = 'Load rows with INSERT instead.'; END$tapehouse$"
  )
)

/** The message the backend is given: a simple Query doing COPY … FROM STDIN becomes `refuseCopyFromStdin`. */
const screen = (message) => {
  if (message[0] !== QUERY || message.length < 6) return message
  const text = Buffer.from(message.buffer, message.byteOffset + 5, message.length - 6).toString("utf8")
  return copyFromStdin.test(text) ? refuseCopyFromStdin : message
}

/** Simple Query "ROLLBACK" then Sync: ends whatever a vanished client left open (see `exec` below). */
const abandonMessages = new Uint8Array(
  Buffer.concat([queryMessage("ROLLBACK"), Buffer.from([0x53, 0, 0, 0, 4])])
)

/**
 * The PGlite instance as the socket server should see it. Every member is the database's own,
 * except `isInTransaction`, `execProtocolRawStream` (which screens the messages and watches the
 * replies) and `exec`.
 */
export const guardProtocol = (db) => {
  // True from a client's first message until the backend is idle at a protocol boundary.
  let held = false
  // The last 6 bytes the backend sent for the current message (a ReadyForQuery is 6 bytes).
  const tail = new Uint8Array(6)
  let tailLength = 0

  const remember = (data) => {
    if (data.length >= 6) {
      tail.set(data.subarray(data.length - 6))
      tailLength = 6
      return
    }
    const keep = Math.min(tailLength, 6 - data.length)
    tail.copyWithin(0, tailLength - keep, tailLength)
    tail.set(data, keep)
    tailLength = keep + data.length
  }
  const endsIdle = () =>
    tailLength === 6 &&
    tail[0] === READY &&
    tail[1] === 0 &&
    tail[2] === 0 &&
    tail[3] === 0 &&
    tail[4] === 5 &&
    tail[5] === IDLE

  const execProtocolRawStream = async (message, options) => {
    tailLength = 0
    await db.execProtocolRawStream(screen(message), {
      ...options,
      onRawData: (data) => {
        remember(data)
        options?.onRawData?.(data)
      }
    })
    // A startup message has no type byte; Terminate gets no reply and ends the connection.
    held = message[0] === TERMINATE ? false : !endsIdle()
  }

  // pglite-socket calls this when a client that holds the session disconnects. ROLLBACK ends an
  // open block or an unfinished extended-protocol exchange; a backend that skips messages after an
  // error until Sync ignores it, and the Sync then ends that exchange (rolled back, as it failed).
  const exec = async (query, options) => {
    if (!held) return db.exec(query, options)
    await db.runExclusive(() => db.execProtocolRaw(abandonMessages))
    held = false
    if (db.isInTransaction()) return db.exec(query, options)
    return []
  }

  return new Proxy(db, {
    get(target, property) {
      if (property === "isInTransaction") return () => held || target.isInTransaction()
      if (property === "execProtocolRawStream") return execProtocolRawStream
      if (property === "exec") return exec
      const value = Reflect.get(target, property, target)
      return typeof value === "function" ? value.bind(target) : value
    }
  })
}
