/** Every dataset tapehouse knows, by name. */
import type { Dataset } from "./Dataset.js"
import { type StockBar, StockBars1s } from "./StockBar.js"

export const datasetNames = ["stock_bars_1s"] as const
export type DatasetName = (typeof datasetNames)[number]

export const datasets: { readonly stock_bars_1s: Dataset<StockBar> } = {
  stock_bars_1s: StockBars1s
}
