import { GETATTR, GETITEM, IDENTITY } from "../protocol/builtin-task-names.js";
import { registerTask } from "../protocol/task-registry.js";

// Functions every executor knows without imports, under the `weft.` prefix. They back `delayed`'s
// own operations (wrapping a value, collecting several, property and index access) and give HTTP
// clients something to call on a bare cluster. Their names live in protocol/builtin-task-names.ts.
const here = import.meta.url;

registerTask(IDENTITY, (value: unknown) => value, here);
registerTask(
  GETATTR,
  (value: unknown, name: string) => {
    if (value === null || value === undefined) throw new TypeError(`cannot read property "${name}" of ${value}`);
    return (value as Record<string, unknown>)[name];
  },
  here,
);
registerTask(
  GETITEM,
  (value: unknown, index: number) => {
    if (value === null || value === undefined) throw new TypeError(`cannot index ${value} with ${index}`);
    const indexable = value as { at?: (i: number) => unknown; length?: number };
    if (typeof indexable.at === "function") return indexable.at(index);
    return (value as Record<number, unknown>)[index];
  },
  here,
);
registerTask("weft.sum", (values: readonly number[]) => values.reduce((a, b) => a + b, 0), here);
registerTask("weft.add", (a: number, b: number) => a + b, here);
registerTask("weft.mul", (a: number, b: number) => a * b, here);
registerTask("weft.noop", () => null, here);
