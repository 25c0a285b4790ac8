import { existsSync, readdirSync, statSync } from "node:fs";
import { isAbsolute, join, resolve, sep } from "node:path";

/**
 * Expands file patterns, as readers take them: `*` and `?` match within one path segment, `**` any
 * number of directories. Matches come back sorted, so partitions follow a stable file order. A
 * pattern that matches nothing, or a plain path that does not exist, is a RangeError naming it.
 */
export function expandPaths(patterns: string | readonly string[]): string[] {
  const list = typeof patterns === "string" ? [patterns] : [...patterns];
  if (list.length === 0) throw new RangeError("no file path or pattern given");
  const out: string[] = [];
  for (const pattern of list) {
    if (typeof pattern !== "string" || pattern === "") throw new TypeError(`a file path must be a non-empty string, got ${String(pattern)}`);
    if (!/[*?]/.test(pattern)) {
      if (!existsSync(pattern)) throw new RangeError(`no such file: ${pattern}`);
      out.push(pattern);
      continue;
    }
    const absolute = isAbsolute(pattern) ? pattern : resolve(pattern);
    const segments = absolute.split(sep).filter((s) => s !== "");
    const matches: string[] = [];
    walk(sep, segments, matches);
    if (matches.length === 0) throw new RangeError(`no file matches ${pattern}`);
    out.push(...matches.sort());
  }
  return out;
}

function segmentMatcher(segment: string): RegExp {
  const source = segment.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, "[^/]*").replace(/\?/g, "[^/]");
  return new RegExp(`^${source}$`);
}

function walk(dir: string, segments: readonly string[], matches: string[]): void {
  if (segments.length === 0) {
    if (existsSync(dir) && statSync(dir).isFile()) matches.push(dir);
    return;
  }
  const [segment, ...rest] = segments;
  if (segment === "**") {
    walk(dir, rest, matches);
    for (const entry of safeList(dir)) if (entry.isDirectory()) walk(join(dir, entry.name), segments, matches);
    return;
  }
  if (!/[*?]/.test(segment)) {
    walk(join(dir, segment), rest, matches);
    return;
  }
  const matcher = segmentMatcher(segment);
  for (const entry of safeList(dir)) if (matcher.test(entry.name)) walk(join(dir, entry.name), rest, matches);
}

function safeList(dir: string) {
  try {
    return readdirSync(dir, { withFileTypes: true });
  } catch {
    return [];
  }
}
