#!/usr/bin/env node
// Completes package-lock.json with the other platforms' optional binaries (biome, rollup,
// msgpackr-extract …) when the registry this machine reaches does not serve them: `npm install`
// then leaves them out and `npm ci` refuses the lock. Each added entry carries the os/cpu/libc
// its name encodes, so npm skips it on other platforms and fetches it on the matching one.
// Run after changing dependencies: node .ci/complete-lockfile.mjs
import fs from "node:fs"

const file = new URL("../package-lock.json", import.meta.url)
const lock = JSON.parse(fs.readFileSync(file, "utf8"))
const packages = lock.packages

const OS = [
  "android",
  "darwin",
  "linux",
  "win32",
  "freebsd",
  "openbsd",
  "openharmony",
  "netbsd",
  "sunos",
  "aix"
]
const CPU = [
  ["arm64", "arm64"],
  ["x64", "x64"],
  ["ia32", "ia32"],
  ["loong64", "loong64"],
  ["ppc64", "ppc64"],
  ["riscv64", "riscv64"],
  ["s390x", "s390x"],
  ["arm", "arm"]
]

const platformOf = (name) => {
  const parts = name.split("/").pop().split("-")
  const os = parts.find((p) => OS.includes(p))
  const cpu = CPU.find(([token]) => parts.includes(token))?.[1]
  if (!os || !cpu) return undefined
  return {
    os: [os],
    cpu: [cpu],
    ...(parts.includes("musl") || parts.includes("musleabihf")
      ? { libc: ["musl"] }
      : parts.includes("gnu") || parts.includes("gnueabihf")
        ? { libc: ["glibc"] }
        : {})
  }
}

let added = 0
for (const [path, entry] of Object.entries(packages)) {
  const optional = entry.optionalDependencies
  if (!optional) continue
  const base =
    path === ""
      ? "node_modules/"
      : `${path.slice(0, path.lastIndexOf("node_modules/") + "node_modules/".length)}`
  // A sibling that is present tells the concrete version the parent resolved to.
  const siblings = Object.keys(optional)
    .map((n) => packages[`${base}${n}`] ?? packages[`node_modules/${n}`])
    .filter(Boolean)
  for (const [name, spec] of Object.entries(optional)) {
    if (packages[`${base}${name}`] || packages[`node_modules/${name}`]) continue
    const platform = platformOf(name)
    if (!platform) continue
    const version = /^\d+\.\d+\.\d+/.test(spec) ? spec : siblings[0]?.version
    if (!version) continue
    packages[`node_modules/${name}`] = {
      version,
      ...(entry.dev ? { dev: true } : {}),
      optional: true,
      ...platform
    }
    added++
  }
}
fs.writeFileSync(file, JSON.stringify(lock, null, 2) + "\n")
console.log(`complete-lockfile: added ${added} platform entr${added === 1 ? "y" : "ies"}`)
