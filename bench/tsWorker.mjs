// Starts a TypeScript module on a worker thread (tsx's hooks are per thread): workerData.script is its URL.
import { workerData } from "node:worker_threads"
import { register } from "tsx/esm/api"

register()
await import(workerData.script)
