/** tardis-dev's OrderBook fed from Binance wire strings, the reference for differential tests. */

import { type BookChange, OrderBook as TardisOrderBook } from "tardis-dev"
import type { OrderBook } from "../../src/books/OrderBook.js"

const levelsOf = (levels: ReadonlyArray<ReadonlyArray<string>>) =>
  levels.map((l) => ({ price: Number(l[0]), amount: Number(l[1]) }))

const EPOCH = new Date(0)

/** A tardis BookChange from `[[price, qty], …]` string levels (tardis itself uses Number()). */
export const bookChange = (
  symbol: string,
  isSnapshot: boolean,
  bids: ReadonlyArray<ReadonlyArray<string>>,
  asks: ReadonlyArray<ReadonlyArray<string>>
): BookChange => ({
  type: "book_change",
  symbol,
  exchange: "binance",
  isSnapshot,
  bids: levelsOf(bids),
  asks: levelsOf(asks),
  timestamp: EPOCH,
  localTimestamp: EPOCH
})

/** The best `n` levels of one side of a tardis book as [price, amount] pairs. */
export const tardisTop = (book: TardisOrderBook, bid: boolean, n: number): Array<[number, number]> => {
  const out: Array<[number, number]> = []
  for (const level of bid ? book.bids() : book.asks()) {
    if (out.length >= n) break
    out.push([level.price, level.amount])
  }
  return out
}

export { TardisOrderBook }

/**
 * The best `n` levels of one side of our book as the Numbers tardis holds for the same decimal
 * text: integer / 10^scale is one correctly rounded division, and Number(text) the correctly
 * rounded parse of the same exact value, so the two are the same double.
 */
export const engineTop = (
  book: OrderBook,
  bid: boolean,
  n: number,
  scales: { readonly priceScale: number; readonly sizeScale: number }
): Array<[number, number]> => {
  const side = bid ? book.bids : book.asks
  const pricePow = 10 ** scales.priceScale
  const sizePow = 10 ** scales.sizeScale
  const out: Array<[number, number]> = []
  for (let i = 0; i < Math.min(n, side.length); i++)
    out.push([side.price(i)! / pricePow, side.size(i)! / sizePow])
  return out
}

/**
 * The first difference between our top `n` and tardis's top `n` on either side, as text; undefined
 * when both books agree level for level.
 */
export const topDifference = (
  book: OrderBook,
  reference: TardisOrderBook,
  n: number,
  scales: { readonly priceScale: number; readonly sizeScale: number }
): string | undefined => {
  for (const bid of [true, false]) {
    const ours = engineTop(book, bid, n, scales)
    const theirs = tardisTop(reference, bid, n)
    const side = bid ? "bid" : "ask"
    if (ours.length !== theirs.length) return `${side}s: ${ours.length} levels, tardis ${theirs.length}`
    for (let i = 0; i < ours.length; i++) {
      const [p, s] = ours[i]!
      const [tp, ts] = theirs[i]!
      if (p !== tp || s !== ts) return `${side} ${i}: ${p} × ${s}, tardis ${tp} × ${ts}`
    }
  }
  return undefined
}
