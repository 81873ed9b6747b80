/** Every dataset tapehouse knows, by name. */
import { Continuity, type ContinuityRow } from "./Continuity.js"
import type { Dataset } from "./Dataset.js"
import { type StockBar, StockBars1s } from "./StockBar.js"

/** Datasets a user backfills or streams (`--dataset`). */
export const datasetNames = ["stock_bars_1s"] as const
export type DatasetName = (typeof datasetNames)[number]

export const datasets: { readonly stock_bars_1s: Dataset<StockBar> } = {
  stock_bars_1s: StockBars1s
}

/** Datasets tapehouse writes about itself. */
export const internalDatasets: { readonly continuity: Dataset<ContinuityRow> } = { continuity: Continuity }
