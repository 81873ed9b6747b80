/**
 * Keeps secrets out of logs and error messages. `makeRedactor` builds one function that runs on
 * every log line: it masks the configured secrets wherever they appear, and whatever the list,
 * the usual places a credential shows up in text (an `apiKey=` query parameter, an
 * `Authorization` header or bearer token, the password of a `scheme://user:pass@host` URL).
 */

/** Secrets shorter than this are fully masked; longer ones keep their last 4 characters. */
const SHOW_TAIL_FROM = 12

/** Secrets shorter than this are not searched for as text (they would mask ordinary words). */
const MIN_SEARCHABLE = 4

/** `****abcd`: at most the last 4 characters of `value` stay visible; short secrets show none. */
export const maskSecret = (value: string): string =>
  value.length >= SHOW_TAIL_FROM ? `****${value.slice(-4)}` : "****"

const escapeRegExp = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")

/** `?apiKey=…`, `&api_key=…`, `access_token=…`, `token=…` (case-insensitive). */
const queryParam = /(\b(?:api[_-]?key|access[_-]?token|token|password|secret)=)([^&\s"'<>#]+)/gi

/** `Authorization: Bearer …`, `"authorization":"Basic …"`, `authorization=…`. */
const authorizationHeader =
  /(\bauthorization["']?\s*[:=]\s*["']?(?:(?:Bearer|Basic|Token)\s+)?)([^\s"',;}]+)/gi

/** A bearer token anywhere. */
const bearerToken = /(\bBearer\s+)([A-Za-z0-9._~+/=-]{4,})/g

/** The password in `scheme://user:password@host` (postgres://, https://, …). */
const urlPassword = /(\b[a-z][a-z0-9+.-]*:\/\/[^\s:/@]*:)([^\s@/]+)(@)/gi

const maskGroup = (_match: string, prefix: string, value: string, suffix?: unknown): string =>
  value.startsWith("****")
    ? _match
    : `${prefix}${maskSecret(value)}${typeof suffix === "string" ? suffix : ""}`

/** The forms a secret may take in text: itself, URL-encoded, and a URL's password part. */
const variantsOf = (secret: string): ReadonlyArray<string> => {
  const out = new Set<string>([secret])
  try {
    out.add(encodeURIComponent(secret))
  } catch {
    // a lone surrogate cannot be encoded; the raw form is enough
  }
  if (secret.includes("://")) {
    try {
      const url = new URL(secret)
      if (url.password !== "") {
        out.add(url.password)
        out.add(decodeURIComponent(url.password))
      }
    } catch {
      // not a URL: only the literal form
    }
  }
  return [...out].filter((s) => s.length >= MIN_SEARCHABLE)
}

/**
 * A function that masks every occurrence of each of `secrets` (and of their URL-encoded forms
 * and URL passwords) with `maskSecret`, plus the common credential patterns in text whatever the
 * list. Secrets shorter than 4 characters are not searched for as text.
 */
export const makeRedactor = (secrets: ReadonlyArray<string>): ((text: string) => string) => {
  const masks = new Map<string, string>()
  for (const secret of secrets) {
    for (const variant of variantsOf(secret)) {
      if (!masks.has(variant)) masks.set(variant, maskSecret(variant))
    }
  }
  // Longest first, so a secret that contains another is replaced whole.
  const literals = [...masks.keys()].sort((a, b) => b.length - a.length)
  const literal = literals.length === 0 ? undefined : new RegExp(literals.map(escapeRegExp).join("|"), "g")
  const replaceLiteral = (s: string): string => masks.get(s) ?? "****"

  return (text: string): string => {
    let out = text
    if (literal !== undefined) out = out.replace(literal, replaceLiteral)
    if (out.includes("=")) out = out.replace(queryParam, maskGroup)
    if (out.includes("://")) out = out.replace(urlPassword, maskGroup)
    if (/authorization/i.test(out)) out = out.replace(authorizationHeader, maskGroup)
    if (out.includes("Bearer")) out = out.replace(bearerToken, maskGroup)
    return out
  }
}
