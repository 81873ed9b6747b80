/**
 * One WebSocket connection's transport bookkeeping in a simulator: frames sent, bytes not yet
 * written to its socket (for back-pressure and slow consumers), who waits for it to drain, and
 * how it ends (a close with a status frame, or a TCP drop once what was sent is written).
 */
import type { RawData, WebSocket } from "ws"

export interface WsPeer {
  readonly ws: WebSocket
  framesSent: number
  /** Bytes handed to the socket and not yet written. */
  pendingBytes: number
  /** Resumed once `pendingBytes` falls to half the back-pressure threshold (or the peer closes). */
  waiters: Array<() => void>
  /** No more frames: closing or dropped. */
  ending: boolean
  /** Terminate the TCP connection once every frame sent so far is written. */
  dropping: boolean
  open: boolean
}

export const makePeer = (ws: WebSocket): WsPeer => ({
  ws,
  framesSent: 0,
  pendingBytes: 0,
  waiters: [],
  ending: false,
  dropping: false,
  open: true
})

/** Resumes everyone waiting for `peer` to drain. */
export const release = (peer: WsPeer): void => {
  const ws = peer.waiters
  peer.waiters = []
  for (const w of ws) w()
}

/**
 * Sends one text frame unless the peer is ending; `backpressureBytes` is the threshold whose half
 * releases the waiters. Returns whether it was sent.
 */
export const sendText = (peer: WsPeer, text: string, backpressureBytes: number): boolean => {
  if (!peer.open || peer.ending || peer.ws.readyState !== peer.ws.OPEN) return false
  const bytes = Buffer.byteLength(text)
  peer.framesSent++
  peer.pendingBytes += bytes
  peer.ws.send(text, () => {
    peer.pendingBytes -= bytes
    if (peer.pendingBytes <= backpressureBytes / 2) release(peer)
    if (peer.dropping && peer.pendingBytes <= 0 && peer.open) peer.ws.terminate()
  })
  return true
}

/** Drops the TCP connection (no close frame) once every frame sent so far is written. */
export const terminateWhenFlushed = (peer: WsPeer): void => {
  peer.ending = true
  peer.dropping = true
  if (peer.pendingBytes <= 0) peer.ws.terminate()
}

/** Ends the peer with a close frame (1008, policy violation, as vendors do for limits). */
export const closePolicy = (peer: WsPeer, reason: string): void => {
  peer.ending = true
  peer.ws.close(1008, reason)
}

/** Waits (as an Effect.async registration) until `peer` drains; returns the canceller. */
export const onDrain = (peer: WsPeer, resume: () => void): (() => void) => {
  peer.waiters.push(resume)
  return () => {
    peer.waiters = peer.waiters.filter((x) => x !== resume)
  }
}

export const rawText = (data: RawData): string =>
  Buffer.isBuffer(data)
    ? data.toString("utf8")
    : Array.isArray(data)
      ? Buffer.concat(data).toString("utf8")
      : Buffer.from(data).toString("utf8")
