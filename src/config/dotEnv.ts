/**
 * The `.env` file's syntax. Plain TypeScript (no Effect): loadConfig reads it, and so does the
 * keeper before it loads anything else (sinks/keeperEarlyOpen.ts).
 */

const ENV_LINE = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_.-]*)\s*=\s*(.*)$/

/**
 * Parses a `.env` file: `KEY=VALUE` lines, optional `export ` prefix, `#` comments (whole lines,
 * or after whitespace in unquoted values), single quotes (literal) and double quotes (with
 * `\n`, `\t`, `\"`, `\\` escapes). A line that is none of these is an error: the line number is
 * returned, never its text (it may hold a secret).
 */
export const parseDotEnv = (
  text: string
):
  | { readonly _tag: "Right"; readonly vars: ReadonlyMap<string, { value: string; line: number }> }
  | {
      readonly _tag: "Left"
      readonly line: number
      readonly reason: string
    } => {
  const vars = new Map<string, { value: string; line: number }>()
  const lines = text.split(/\r?\n/)
  for (let i = 0; i < lines.length; i++) {
    const raw = (lines[i] ?? "").trim()
    if (raw === "" || raw.startsWith("#")) continue
    const m = ENV_LINE.exec(raw)
    if (m === null) return { _tag: "Left", line: i + 1, reason: "a line of the form KEY=VALUE" }
    const key = m[1]!
    const rest = m[2] ?? ""
    let value: string
    const quote = rest[0]
    if (quote === '"' || quote === "'") {
      const end = quote === "'" ? rest.indexOf("'", 1) : findClosingDoubleQuote(rest)
      if (end < 0) return { _tag: "Left", line: i + 1, reason: `a closing ${quote} on the same line` }
      const after = rest.slice(end + 1).trim()
      if (after !== "" && !after.startsWith("#")) {
        return { _tag: "Left", line: i + 1, reason: "nothing but a # comment after the closing quote" }
      }
      const inner = rest.slice(1, end)
      value =
        quote === "'"
          ? inner
          : inner.replace(/\\([nrt"\\$])/g, (_m, c: string) =>
              c === "n" ? "\n" : c === "r" ? "\r" : c === "t" ? "\t" : c
            )
    } else {
      const hash = rest.search(/\s#/)
      value = (hash < 0 ? rest : rest.slice(0, hash)).trim()
    }
    vars.set(key, { value, line: i + 1 })
  }
  return { _tag: "Right", vars }
}

const findClosingDoubleQuote = (s: string): number => {
  for (let i = 1; i < s.length; i++) {
    if (s[i] === "\\") i++
    else if (s[i] === '"') return i
  }
  return -1
}
