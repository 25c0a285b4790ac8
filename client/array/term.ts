/**
 * Elementwise expressions over arrays, before they become tasks. A term is a tree whose leaves are
 * arrays made of tasks, seen through an axis mapping (so transposition and broadcasting cost
 * nothing), and whose inner nodes are elementwise operations. Every leaf is chunked exactly as the
 * expression's output along the axes it maps, so output block `[i, j]` reads one block per leaf.
 */
import type { ChunkedArray } from "./chunked-array.js";
import type { DType } from "../../kernels/array/dtype.js";

/** A leaf: array `array` read through `axes` (per output axis, the array axis along it, or -1). */
export interface LeafTerm {
  readonly kind: "leaf";
  readonly array: ChunkedArray;
  readonly axes: readonly number[];
}

/** A number taking part in an expression, already cast to `dtype`. */
export interface ConstantTerm {
  readonly kind: "constant";
  readonly value: number;
  readonly dtype: DType;
}

/** An elementwise operation (or `"astype"`) on sub-expressions. */
export interface OpTerm {
  readonly kind: "op";
  readonly op: string;
  readonly args: readonly Term[];
  readonly dtype: DType;
}

/** An elementwise expression: a leaf, a constant or an operation. */
export type Term = LeafTerm | ConstantTerm | OpTerm;

/**
 * Most nodes one fused expression holds. A longer chain is cut: the array at the cut becomes tasks
 * and the chain continues from its blocks, so generated kernels stay a reasonable size (as the
 * graph's own fusion bounds chains at 64 tasks).
 */
export const MAX_FUSED_NODES = 64;

/** The term reading `array`: its own expression, or its blocks as they are (for arrays made of tasks and long expressions). */
export function leafOf(array: ChunkedArray): Term {
  if (array.term !== undefined && countNodes(array.term) <= MAX_FUSED_NODES) return array.term;
  return { kind: "leaf", array, axes: array.shape.map((_, axis) => axis) };
}

function countNodes(term: Term): number {
  return term.kind === "op" ? term.args.reduce((n, arg) => n + countNodes(arg), 1) : 1;
}

/** Applies `f` to every leaf. */
export function mapLeaves(term: Term, f: (leaf: LeafTerm) => Term): Term {
  if (term.kind === "leaf") return f(term);
  if (term.kind === "constant") return term;
  return { ...term, args: term.args.map((arg) => mapLeaves(arg, f)) };
}

/** Every leaf, in order of first appearance. */
export function leavesOf(term: Term, into: LeafTerm[] = []): LeafTerm[] {
  if (term.kind === "leaf") into.push(term);
  else if (term.kind === "op") for (const arg of term.args) leavesOf(arg, into);
  return into;
}

/** A term of `ndim` axes seen with `extra` new leading axes (right alignment, as broadcasting does). */
export function padAxes(term: Term, extra: number): Term {
  if (extra === 0) return term;
  return mapLeaves(term, (leaf) => ({ ...leaf, axes: [...new Array<number>(extra).fill(-1), ...leaf.axes] }));
}

/** A term with its axes reordered: new axis `d` is old axis `perm[d]`. */
export function permuteAxes(term: Term, perm: readonly number[]): Term {
  return mapLeaves(term, (leaf) => ({ ...leaf, axes: perm.map((d) => leaf.axes[d]) }));
}

/** True when the term is a leaf reading its array as it is (no task is needed to make it). */
export function isIdentityLeaf(term: Term): term is LeafTerm {
  return term.kind === "leaf" && term.axes.length === term.array.ndim && term.axes.every((axis, d) => axis === d);
}
