import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, normalize, relative } from "node:path";

/** The project's top-level folders with code, and what each may import. */
export const LAYERS: Readonly<Record<string, readonly string[]>> = {
  // Shared floors, each on the ones before it.
  graph: [],
  protocol: ["graph"],
  executor: ["graph", "protocol"],
  kernels: ["graph", "protocol", "executor"],
  // Runtimes. The scheduler runs tasks in-process through an executor (the local shell); the worker
  // loads the kernels; the client embeds the scheduler for `Client.local()` and in-process clusters,
  // as Dask's Client starts a LocalCluster. Scheduler and worker never import each other.
  scheduler: ["graph", "protocol", "executor"],
  worker: ["graph", "protocol", "executor", "kernels"],
  client: ["graph", "protocol", "kernels", "scheduler"],
  // Programs on top.
  bench: ["graph", "protocol", "executor", "kernels", "scheduler", "worker", "client"],
  cli: ["graph", "protocol", "executor", "kernels", "scheduler", "worker", "client", "bench"],
  examples: ["client"],
};

/** Files of the pure scheduling core: they may import only the core itself and these modules. */
const CORE = "scheduler/core/";
const CORE_MAY_IMPORT = ["graph/task-spec.ts", "protocol/ids.ts", "protocol/task-failure.ts"];
/** What the pure core must not touch: the clock, timers, the process, I/O. */
const IMPURE = /\b(Date\.now|new Date|setTimeout|setInterval|setImmediate|queueMicrotask|performance\.now|process\.(?!exit\))|console\.)/;

/** One broken rule: the importing file, what it imports, and why that is not allowed. */
export interface ImportViolation {
  readonly file: string;
  readonly imports: string;
  readonly rule: string;
}

/** Every `.ts` file under the layers' folders, as paths relative to `root`, with its source. */
export function readSources(root: string): Map<string, string> {
  const sources = new Map<string, string>();
  const walk = (dir: string) => {
    for (const entry of readdirSync(join(root, dir), { withFileTypes: true })) {
      const path = `${dir}/${entry.name}`;
      if (entry.isDirectory()) walk(path);
      else if (entry.name.endsWith(".ts")) sources.set(path, readFileSync(join(root, path), "utf8"));
    }
  };
  for (const layer of Object.keys(LAYERS)) walk(layer);
  return sources;
}

/** Specifiers of static, side-effect and dynamic imports and re-exports, with comments removed first. */
function importsOf(source: string): string[] {
  const code = source.replace(/\/\*[\s\S]*?\*\//g, "").replace(/(^|[^:"'`])\/\/.*$/gm, "$1");
  const found: string[] = [];
  const pattern = /(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)(["'])([^"']+)\1/g;
  for (let match; (match = pattern.exec(code)) !== null; ) found.push(match[2]);
  return found;
}

/**
 * Checks the layering: each folder imports only the folders its row of {@link LAYERS} names (and
 * itself), and the scheduling core imports nothing impure. Files are given relative to the project
 * root, such as `worker/nanny.ts`.
 */
export function checkImports(sources: ReadonlyMap<string, string>): ImportViolation[] {
  const violations: ImportViolation[] = [];
  for (const [file, source] of sources) {
    const layer = file.slice(0, file.indexOf("/"));
    const allowed = LAYERS[layer];
    if (allowed === undefined) continue;
    const inCore = file.startsWith(CORE);
    for (const specifier of importsOf(source)) {
      if (!specifier.startsWith(".")) {
        if (inCore) violations.push({ file, imports: specifier, rule: "the scheduling core imports no packages or Node modules" });
        continue;
      }
      const target = normalize(join(dirname(file), specifier)).replace(/\.js$/, ".ts");
      if (target.startsWith("..")) {
        violations.push({ file, imports: specifier, rule: "imports stay inside the project" });
        continue;
      }
      const targetLayer = target.slice(0, target.indexOf("/"));
      if (targetLayer !== layer && !allowed.includes(targetLayer)) {
        violations.push({ file, imports: specifier, rule: `${layer}/ may import ${allowed.length > 0 ? allowed.join(", ") : "nothing outside itself"}` });
      } else if (inCore && !target.startsWith(CORE) && !CORE_MAY_IMPORT.includes(target)) {
        violations.push({ file, imports: specifier, rule: `the scheduling core imports only itself and ${CORE_MAY_IMPORT.join(", ")}` });
      }
    }
    if (inCore) {
      const impure = IMPURE.exec(source.replace(/\/\*[\s\S]*?\*\//g, "").replace(/\/\/.*$/gm, "").replace(/`[^`]*`/g, "``"));
      if (impure !== null) violations.push({ file, imports: impure[0], rule: "the scheduling core reads no clock, sets no timers and does no I/O" });
    }
  }
  return violations;
}

/** Formats violations one per line, for a failing test's message. */
export function describeViolations(violations: readonly ImportViolation[], root = ""): string {
  return violations.map((v) => `${relative(root, v.file) || v.file} imports ${v.imports}: ${v.rule}`).join("\n");
}
