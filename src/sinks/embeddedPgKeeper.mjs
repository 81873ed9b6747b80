// The keeper's process entry when tapehouse runs from its TypeScript source: loads TypeScript
// through tsx (as bin/tapehouse.mjs does), then the keeper. The build compiles
// embeddedPgKeeperMain.ts into dist/embeddedPgKeeper.mjs instead.
import { register } from "tsx/esm/api"

register()
await import("./embeddedPgKeeperMain.ts")
