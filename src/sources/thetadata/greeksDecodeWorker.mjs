// Worker thread entry: loads TypeScript through tsx (as bin/tapehouse.mjs does), then the worker.
import { register } from "tsx/esm/api"

register()
await import("./greeksDecodeWorker.ts")
