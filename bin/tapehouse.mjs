#!/usr/bin/env node
// Runs the compiled CLI in dist/ (built by `npm ci` and `npm run build`, see scripts/build.mjs).
// When dist/ is missing, or a file under src/ (or the build script) is newer than the build, it runs
// the TypeScript source through tsx instead, and says so: a stale build never runs.
import { readdirSync, statSync } from "node:fs"
import { fileURLToPath } from "node:url"

const project = new URL("../", import.meta.url)

/** Newest mtime (ms) of a folder, everything under it, and the build script. */
const newestSource = () => {
  let newest = statSync(new URL("scripts/build.mjs", project)).mtimeMs
  const walk = (dir) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = `${dir}/${entry.name}`
      if (entry.isDirectory()) walk(path)
      newest = Math.max(newest, statSync(path).mtimeMs)
    }
  }
  const src = fileURLToPath(new URL("src", project))
  newest = Math.max(newest, statSync(src).mtimeMs)
  walk(src)
  return newest
}

const builtAt = statSync(new URL("dist/build.json", project), { throwIfNoEntry: false })?.mtimeMs
if (builtAt !== undefined && builtAt >= newestSource()) {
  await import("../dist/tapehouse.mjs")
} else {
  process.stderr.write(
    `tapehouse: ${builtAt === undefined ? "there is no build in dist/" : "src/ changed since the last build"}; running the TypeScript source (slower to start; \`npm run build\` compiles it)\n`
  )
  const { register } = await import("tsx/esm/api")
  register()
  await import("../src/bin.ts")
}
