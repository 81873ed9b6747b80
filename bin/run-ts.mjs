#!/usr/bin/env node
// Runs any TypeScript script of the project (benchmarks): node bin/run-ts.mjs bench/backfill.ts [args]
import { resolve } from "node:path"
import { pathToFileURL } from "node:url"
import { register } from "tsx/esm/api"

register()
const [script, ...rest] = process.argv.slice(2)
if (!script) {
  console.error("usage: node bin/run-ts.mjs <script.ts> [args]")
  process.exit(2)
}
process.argv = [process.argv[0], resolve(script), ...rest]
await import(pathToFileURL(resolve(script)).href)
