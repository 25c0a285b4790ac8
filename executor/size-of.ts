import { Table } from "apache-arrow";

/**
 * Approximate bytes a value holds, for the scheduler's locality and stealing costs. Exact for typed
 * arrays and buffers (the data that matters); an estimate for everything else, and cheap: it looks at
 * no more than a few thousand nodes.
 */
export function sizeOf(value: unknown): number {
  const budget = { nodes: 4096 };
  return estimate(value, budget);
}

function estimate(value: unknown, budget: { nodes: number }): number {
  switch (typeof value) {
    case "number":
    case "boolean":
    case "undefined":
      return 8;
    case "bigint":
      return 16;
    case "string":
      return 16 + value.length * 2;
    case "object":
      break;
    default:
      return 8;
  }
  if (value === null) return 8;
  if (ArrayBuffer.isView(value)) return value.byteLength;
  if (value instanceof ArrayBuffer || value instanceof SharedArrayBuffer) return value.byteLength;
  if (value instanceof Table) return value.batches.reduce((bytes, batch) => bytes + batch.data.byteLength, 0);
  // Objects that know their own size (Arrow tables expose byteLength).
  const byteLength = (value as { byteLength?: unknown }).byteLength;
  if (typeof byteLength === "number") return byteLength;
  if (--budget.nodes < 0) return 64;
  if (Array.isArray(value)) {
    const n = value.length;
    if (n === 0) return 16;
    // Sample large arrays: the first elements stand for the rest.
    const sampled = Math.min(n, 64);
    let bytes = 0;
    for (let i = 0; i < sampled; i++) bytes += estimate(value[i], budget);
    return 16 + (bytes * n) / sampled;
  }
  if (value instanceof Map || value instanceof Set) return 64 + value.size * 48;
  let bytes = 32;
  let count = 0;
  for (const k in value as Record<string, unknown>) {
    bytes += 16 + k.length * 2 + estimate((value as Record<string, unknown>)[k], budget);
    if (++count > 256) break;
  }
  return bytes;
}
