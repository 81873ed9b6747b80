/**
 * Real full, read-only and forbidden disks for failure tests. The command runs in a private mount namespace
 * (`unshare --mount`) with a tmpfs mounted on a folder, so the mount exists only for that process
 * and nothing stays mounted on the machine, whatever happens to the test. It needs root (or
 * CAP_SYS_ADMIN) and util-linux's `unshare`; `canMountTmpfs` says whether this machine has them.
 * Root ignores file modes, so a permission failure runs the command as `nobody` (`asNobody`).
 */
import { spawnSync } from "node:child_process"
import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"

/** The prefix that runs a command with a tmpfs (`mount -o options`, e.g. "ro,size=1m") on `dir`. */
export const underTmpfs = (dir: string, options: string): ReadonlyArray<string> => [
  "unshare",
  "--mount",
  "--propagation",
  "private",
  "sh",
  "-c",
  'mount -t tmpfs -o "$1" tmpfs "$2" && shift 2 && exec "$@"',
  "sh",
  options,
  dir
]

/** Whether `underTmpfs` works here. */
export const canMountTmpfs: boolean = (() => {
  const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "tapehouse-tmpfs-probe-"))
  try {
    const [command = "unshare", ...args] = underTmpfs(dir, "size=64k")
    return spawnSync(command, [...args, "true"], { stdio: "ignore", timeout: 10_000 }).status === 0
  } finally {
    Fs.rmSync(dir, { recursive: true, force: true })
  }
})()

/** The prefix that runs a command as the unprivileged user `nobody` (uid and gid 65534). */
export const asNobody: ReadonlyArray<string> = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]

/**
 * Whether `asNobody` can run the CLI here: it needs root, util-linux's `setpriv`, and a checkout
 * `nobody` may read (not one under a private folder such as a `mktemp -d`).
 */
export const canRunAsNobody: boolean =
  process.getuid?.() === 0 &&
  spawnSync(
    asNobody[0] ?? "setpriv",
    [...asNobody.slice(1), "test", "-r", Path.resolve(import.meta.dirname, "../../bin/tapehouse.mjs")],
    { stdio: "ignore", timeout: 10_000 }
  ).status === 0
