#!/usr/bin/env node
/**
 * Compiles the CLI into dist/ with esbuild: `npm run build`, and `npm ci` runs it (the `prepare`
 * script). bin/tapehouse.mjs runs dist/ when it is newer than every file under src/, and the
 * TypeScript source through tsx otherwise; the test suite builds first (test/support/buildOnce.ts).
 *
 * - One bundle, split into chunks: `import { Effect } from "effect"` unbundled loads the whole
 *   barrel, bundled only what is used. Each `import()` in a command's handler becomes a chunk that
 *   loads only when that command runs, so `--help` and `status` do not load the sinks, sources,
 *   simulators or PGlite.
 * - Entry points beside the CLI: the worker threads, which their modules start by a URL relative to
 *   themselves (`new URL("./frameDecodeWorker.mjs", import.meta.url)`). Every output sits flat in
 *   dist/, so such a URL from any chunk names a file in dist/ (checked after each build).
 * - External, loaded from node_modules at run time: packages that read files next to their own
 *   code (PGlite's .wasm and .data, zstd's .wasm) or load a native addon.
 * - dist/ is replaced whole (built beside it, then renamed), and dist/build.json, written last,
 *   carries the time the build started: a source edited during the build counts as newer.
 */
import * as Fs from "node:fs"
import * as Path from "node:path"
import { fileURLToPath, pathToFileURL } from "node:url"

export const projectDir = Path.resolve(Path.dirname(fileURLToPath(import.meta.url)), "..")
export const distDir = Path.join(projectDir, "dist")
/** Written last: its mtime is when the build started. */
export const stampFile = Path.join(distDir, "build.json")

const entryPoints = {
  tapehouse: "src/bin.ts",
  frameDecodeWorker: "src/sources/massive/frameDecodeWorker.ts",
  greeksDecodeWorker: "src/sources/thetadata/greeksDecodeWorker.ts",
  embeddedPgWorker: "src/sinks/embeddedPgWorker.mjs",
  // The process `tapehouse sql` leaves serving the embedded database (EmbeddedPgKeeper).
  embeddedPgKeeper: "src/sinks/embeddedPgKeeperMain.ts"
}

const external = [
  "@electric-sql/*", // PGlite: its .wasm and .data files
  "@bokuweb/zstd-wasm", // its .wasm file
  "msgpackr-extract" // a native addon (optional; @effect/platform's MessagePack)
]

/** Bundled CommonJS packages call require() for Node's modules: give ESM output a real one. */
const banner =
  'import { createRequire as __tapehouseCreateRequire } from "node:module";\n' +
  "const require = __tapehouseCreateRequire(import.meta.url);"

/** Every `new URL("./x", import.meta.url)` in the output must name a file in dist/. */
const checkRelativeUrls = (dir) => {
  const missing = []
  for (const name of Fs.readdirSync(dir).filter((n) => n.endsWith(".mjs"))) {
    const text = Fs.readFileSync(Path.join(dir, name), "utf8")
    for (const m of text.matchAll(/new URL\(\s*["']\.\/([^"']+)["']\s*,\s*import\.meta\.url\s*\)/g))
      if (!Fs.existsSync(Path.join(dir, m[1]))) missing.push(`${name} loads ./${m[1]}, which is not in dist/`)
  }
  if (missing.length > 0) throw new Error(`build: ${missing.join("; ")}`)
}

/** Builds dist/; returns esbuild's metafile (what each output holds and imports). */
export const build = async () => {
  const esbuild = await import("esbuild")
  const started = new Date()
  const tmp = Path.join(projectDir, `dist.tmp-${process.pid}`)
  Fs.rmSync(tmp, { recursive: true, force: true })
  try {
    const result = await esbuild.build({
      absWorkingDir: projectDir,
      entryPoints,
      outdir: tmp,
      bundle: true,
      splitting: true,
      format: "esm",
      platform: "node",
      target: "node20",
      outExtension: { ".js": ".mjs" },
      chunkNames: "chunk-[hash]",
      external,
      banner: { js: banner },
      sourcemap: "linked",
      sourcesContent: false,
      metafile: true,
      logLevel: "warning"
    })
    checkRelativeUrls(tmp)
    // What each output holds and imports, named as in dist/ (tests read it).
    const meta = JSON.stringify(result.metafile).replaceAll(`${Path.basename(tmp)}/`, "dist/")
    Fs.writeFileSync(Path.join(tmp, "meta.json"), meta)
    Fs.writeFileSync(
      Path.join(tmp, "build.json"),
      `${JSON.stringify({ startedAt: started.toISOString(), esbuild: esbuild.version }, null, 2)}\n`
    )
    Fs.utimesSync(Path.join(tmp, "build.json"), started, started)
    // Swap: a running bin sees the old dist/ whole, no dist/ (it then runs the source), or the new one.
    const old = Path.join(projectDir, `dist.old-${process.pid}`)
    try {
      Fs.renameSync(distDir, old)
    } catch (cause) {
      if (cause.code !== "ENOENT") throw cause
    }
    Fs.renameSync(tmp, distDir)
    Fs.rmSync(old, { recursive: true, force: true })
    return result.metafile
  } finally {
    Fs.rmSync(tmp, { recursive: true, force: true })
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(Path.resolve(process.argv[1])).href) {
  const t0 = performance.now()
  await build()
  console.log(`built dist/ in ${Math.round(performance.now() - t0)} ms`)
}
