/**
 * Finds an option the command line gives that its command does not take, before @effect/cli parses
 * it: @effect/cli reports a missing required option first and never the unknown one (`backfill
 * --symbol SPY` said "Expected to find option: '--symbols'"), or says "Received unknown argument"
 * without the options that would do. The sentence here names the option, the command, and the
 * options it takes.
 */
import { CommandDescriptor, type Usage } from "@effect/cli"
import { HashSet, Option } from "effect"

/** A command: its options (and whether each takes a value), and its subcommands. */
export interface CommandNode {
  readonly path: string
  /** Option name → whether it takes a value (`--from X`) or not (`--overwrite`). */
  readonly options: ReadonlyMap<string, boolean>
  readonly subcommands: ReadonlyMap<string, CommandNode>
}

/** Options @effect/cli gives every command; the ones that end the parse (help, version…) are not checked. */
const BUILT_IN = new Map([
  ["--log-level", true],
  ["--completions", true]
])
const ENDS_PARSE = new Set(["--help", "-h", "--version", "--wizard"])
/** What reads as an option; `sql "-- a comment…"` or a value like `-5` does not. */
const OPTION = /^--[A-Za-z][\w-]*(=|$)/

const collect = (usage: Usage.Usage, into: Map<string, boolean>): void => {
  switch (usage._tag) {
    case "Named":
      for (const name of usage.names)
        if (name.startsWith("-")) into.set(name, Option.isSome(usage.acceptedValues))
      break
    case "Optional":
    case "Repeated":
      collect(usage.usage, into)
      break
    case "Alternation":
    case "Concat":
      collect(usage.left, into)
      collect(usage.right, into)
      break
  }
}

/**
 * A command's node. @effect/cli lists a command's subcommands from the command itself (a command
 * without any lists itself; from its parent, a command with subcommands looks like one without), so
 * each subcommand is read from its own descriptor: that sees two levels below `tapehouse`
 * (`sim serve`), which is all the CLI has.
 */
const nodeOf = (path: string, descriptor: CommandDescriptor.Command<unknown>): CommandNode => {
  const options = new Map<string, boolean>()
  collect(CommandDescriptor.getUsage(descriptor), options)
  const own = CommandDescriptor.getNames(descriptor)
  const children = new Map<string, CommandNode>()
  for (const [name, child] of CommandDescriptor.getSubcommands(descriptor))
    if (!HashSet.has(own, name)) children.set(name, nodeOf(`${path} ${name}`, child))
  return { path, options, subcommands: children }
}

/** The tree of `root` with `subcommands`, the commands given to its `withSubcommands`. */
export const commandTree = (
  root: { readonly descriptor: CommandDescriptor.Command<unknown> },
  subcommands: ReadonlyArray<{ readonly descriptor: CommandDescriptor.Command<unknown> }>
): CommandNode => {
  const children = new Map<string, CommandNode>()
  for (const { descriptor } of subcommands)
    for (const name of HashSet.values(CommandDescriptor.getNames(descriptor)))
      children.set(name, nodeOf(`tapehouse ${name}`, descriptor))
  return { ...nodeOf("tapehouse", root.descriptor), subcommands: children }
}

const listOf = (node: CommandNode): string => {
  const names = [...node.options.keys()].filter((n) => n.startsWith("--"))
  return names.length === 0 ? "no options" : names.join(", ")
}

/**
 * The first option in `args` (the command line after the program) that the command it is given to
 * does not take, as a sentence; none when every option is known, or help or the version is asked for.
 */
export const unknownOption = (tree: CommandNode, args: ReadonlyArray<string>): Option.Option<string> => {
  let node = tree
  let skipValue = false
  for (const arg of args) {
    if (arg === "--" || ENDS_PARSE.has(arg)) return Option.none()
    if (skipValue) {
      skipValue = false
      continue
    }
    if (OPTION.test(arg)) {
      const eq = arg.indexOf("=")
      const name = eq < 0 ? arg : arg.slice(0, eq)
      const takesValue = node.options.get(name) ?? BUILT_IN.get(name)
      if (takesValue === undefined) {
        if (node !== tree && tree.options.has(name))
          return Option.some(
            `${name} goes before the command: tapehouse ${name} … ${node.path.slice("tapehouse ".length)} ….`
          )
        return Option.some(
          `${name} is not an option of ${node.path}; it takes ${listOf(node)} (see ${node.path} --help).`
        )
      }
      skipValue = takesValue && eq < 0
      continue
    }
    const sub = node.subcommands.get(arg)
    if (sub !== undefined) node = sub
  }
  return Option.none()
}
