/**
 * Fused elementwise kernels. A chain of elementwise operations over arrays — `(x + 1) * 2 - y` — is
 * described by an {@link ElementwiseProgram}: an expression tree over input blocks and constants.
 * Where it runs, the program is compiled once into a JavaScript loop (like numexpr, or a fused Dask
 * `blockwise` layer) that computes each output element in registers and writes it once: no
 * intermediate arrays, one task per block however long the chain.
 *
 * The generated source is made only of the templates in `elementwise-ops.ts`, local variable names
 * and integer indices; every number from the graph reaches the loop as a value. A program naming an
 * unknown operation or malformed in any way is refused with a TypeError.
 */
import { type Block, allocateUnfilled, stridesOf } from "./block.js";
import { type DType, isDType, type TypedArray } from "./dtype.js";
import { castExpression, elementwiseOp } from "./elementwise-ops.js";
import { sizeOf } from "./chunks.js";

/** A node of an elementwise expression. */
export type ExprNode =
  /** Element of input block `input` (through its view: transposition and broadcasting). */
  | { readonly input: number }
  /** Constant number `constant` of the program. */
  | { readonly constant: number }
  /** An operation of `elementwise-ops.ts`, or `"astype"` (a cast to `dtype`). */
  | { readonly op: string; readonly args: readonly ExprNode[]; readonly dtype: DType };

/** How a fused kernel reads one input block. */
export interface ProgramInput {
  readonly dtype: DType;
  /**
   * For each output axis, the block axis read along it, or -1 for an axis the block does not have
   * (a broadcast). A permutation is a transposition; block axes of length 1 are broadcast against
   * longer output axes, as in NumPy. Block axes left out must have length 1.
   */
  readonly axes: readonly number[];
}

/** A fused elementwise computation over input blocks; plain data, so it travels in task arguments. */
export interface ElementwiseProgram {
  readonly root: ExprNode;
  readonly inputs: readonly ProgramInput[];
  /** Constants, already cast to the dtype they take part in. */
  readonly constants: readonly number[];
  /** dtype of the result (the root's). */
  readonly dtype: DType;
}

/** How a kernel combines the elements it computes, instead of storing them. */
export type AccumulateMode = "sum" | "prod" | "min" | "max" | "any" | "all";

type CompiledKernel = (
  inputs: readonly TypedArray[],
  strides: readonly (readonly number[])[],
  shape: readonly number[],
  constants: readonly number[],
  out: TypedArray | null,
) => number;

const cache = new Map<string, CompiledKernel>();
/** Compiled kernels kept per thread; past this many the cache starts over (a program building endless distinct expressions must not grow it forever). */
const CACHE_LIMIT = 512;

/** Evaluates `program` over input blocks into a new block of `shape`. */
export function evaluateProgram(program: ElementwiseProgram, shape: readonly number[], inputs: readonly Block[]): Block {
  const out = allocateUnfilled(program.dtype, sizeOf(shape));
  run(program, shape, inputs, "store", out);
  return { data: out, shape: [...shape], dtype: program.dtype };
}

/**
 * Folds every element `program` computes over a block of `shape` with `mode`, without storing them
 * (a reduction's partial fused with the elementwise chain feeding it). Accumulates in float64.
 */
export function accumulateProgram(program: ElementwiseProgram, shape: readonly number[], inputs: readonly Block[], mode: AccumulateMode): number {
  return run(program, shape, inputs, mode, null);
}

function run(program: ElementwiseProgram, shape: readonly number[], inputs: readonly Block[], mode: "store" | AccumulateMode, out: TypedArray | null): number {
  if (inputs.length !== program.inputs.length) {
    throw new TypeError(`elementwise program reads ${program.inputs.length} input blocks, got ${inputs.length}`);
  }
  const kernel = compile(program, mode);
  const strides = inputs.map((block, k) => viewStrides(block, program.inputs[k].axes, shape, k));
  return kernel(
    inputs.map((block) => block.data),
    strides,
    shape,
    program.constants,
    out,
  );
}

/** Per output axis, the step in `block`'s data for one step along that axis (0 when broadcast). */
function viewStrides(block: Block, axes: readonly number[], shape: readonly number[], k: number): number[] {
  if (!Array.isArray(axes) || axes.length !== shape.length) {
    throw new TypeError(`input ${k} of an elementwise program must map each of the ${shape.length} output axes`);
  }
  const own = stridesOf(block.shape);
  return shape.map((length, d) => {
    const axis = axes[d];
    if (axis === -1) return 0;
    if (!Number.isInteger(axis) || axis < 0 || axis >= block.shape.length) throw new TypeError(`input ${k} maps output axis ${d} to unknown axis ${axis}`);
    const blockLength = block.shape[axis];
    if (blockLength === length) return blockLength === 1 ? 0 : own[axis];
    if (blockLength === 1) return 0;
    throw new RangeError(`input block ${k} of shape [${block.shape.join(", ")}] does not broadcast to [${shape.join(", ")}]`);
  });
}

const INITIAL: Record<AccumulateMode, string> = { sum: "0", prod: "1", min: "Infinity", max: "-Infinity", any: "0", all: "1" };
const FOLD: Record<"store" | AccumulateMode, string> = {
  store: "out[o++] = v;",
  sum: "acc += v;",
  prod: "acc *= v;",
  min: "if (v < acc || v !== v) acc = v;",
  max: "if (v > acc || v !== v) acc = v;",
  any: "if (v !== 0) acc = 1;",
  all: "if (v === 0) acc = 0;",
};

function compile(program: ElementwiseProgram, mode: "store" | AccumulateMode): CompiledKernel {
  const signature = `${mode}|${JSON.stringify(program.inputs)}|${JSON.stringify(program.root)}`;
  let kernel = cache.get(signature);
  if (kernel === undefined) {
    kernel = generate(program, mode);
    if (cache.size >= CACHE_LIMIT) cache.clear();
    cache.set(signature, kernel);
  }
  return kernel;
}

function generate(program: ElementwiseProgram, mode: "store" | AccumulateMode): CompiledKernel {
  const n = program.inputs.length;
  program.inputs.forEach((input, k) => {
    if (!isDType(input.dtype)) throw new TypeError(`elementwise program input ${k} has unknown dtype ${JSON.stringify(input.dtype)}`);
  });
  if (!Number.isInteger(program.constants.length)) throw new TypeError("elementwise program constants must be an array");
  const expression = expressionOf(program.root, program, (k) => `p${k}`);
  const ks = Array.from({ length: n }, (_, k) => k);
  const lines = [
    `"use strict";`,
    ...ks.map((k) => `const in${k} = inputs[${k}], st${k} = strides[${k}];`),
    ...program.constants.map((_, c) => `const c${c} = constants[${c}];`),
    `const nd = shape.length;`,
    `let total = 1; for (let d = 0; d < nd; d++) total *= shape[d];`,
    `let acc = ${mode === "store" ? "0" : INITIAL[mode]};`,
    `if (total === 0) return acc;`,
    `const inner = nd === 0 ? 1 : shape[nd - 1];`,
    `const outer = total / inner;`,
    ...ks.map((k) => `const s${k} = nd === 0 ? 0 : st${k}[nd - 1]; let b${k} = 0;`),
    `const idx = new Int32Array(nd);`,
    `let o = 0;`,
    ...(mode === "sum" ? [`let acc1 = 0, acc2 = 0, acc3 = 0;`] : []),
    `for (let r = 0; r < outer; r++) {`,
    `  let j = 0${ks.map((k) => `, p${k} = b${k}`).join("")};`,
    // A sum keeps four accumulators: one would chain every addition to the one before (four cycles
    // each), and the loop would wait on that chain rather than on memory.
    ...(mode === "sum"
      ? [
          `  for (; j + 4 <= inner; j += 4${ks.map((k) => `, p${k} += 4 * s${k}`).join("")}) {`,
          `    acc += ${expressionOf(program.root, program, (k) => `p${k}`)};`,
          `    acc1 += ${expressionOf(program.root, program, (k) => `p${k} + s${k}`)};`,
          `    acc2 += ${expressionOf(program.root, program, (k) => `p${k} + 2 * s${k}`)};`,
          `    acc3 += ${expressionOf(program.root, program, (k) => `p${k} + 3 * s${k}`)};`,
          `  }`,
        ]
      : []),
    `  for (; j < inner; j++${ks.map((k) => `, p${k} += s${k}`).join("")}) {`,
    `    const v = ${expression};`,
    `    ${FOLD[mode]}`,
    `  }`,
    `  for (let d = nd - 2; d >= 0; d--) {`,
    `    idx[d]++;${ks.map((k) => ` b${k} += st${k}[d];`).join("")}`,
    `    if (idx[d] < shape[d]) break;`,
    `   ${ks.map((k) => ` b${k} -= st${k}[d] * shape[d];`).join("")}`,
    `    idx[d] = 0;`,
    `  }`,
    `}`,
    mode === "sum" ? `return acc + acc1 + (acc2 + acc3);` : `return acc;`,
  ];
  return new Function("inputs", "strides", "shape", "constants", "out", lines.join("\n")) as CompiledKernel;
}

/** The JavaScript expression of a node, as a number in the node's dtype; input `k` is read at `position(k)`. */
function expressionOf(node: ExprNode, program: ElementwiseProgram, position: (k: number) => string): string {
  if ("input" in node) {
    const k = node.input;
    if (!Number.isInteger(k) || k < 0 || k >= program.inputs.length) throw new TypeError(`elementwise program reads unknown input ${String(k)}`);
    return `in${k}[${position(k)}]`;
  }
  if ("constant" in node) {
    const c = node.constant;
    if (!Number.isInteger(c) || c < 0 || c >= program.constants.length || typeof program.constants[c] !== "number") {
      throw new TypeError(`elementwise program reads unknown constant ${String(c)}`);
    }
    return `c${c}`;
  }
  if (!isDType(node.dtype)) throw new TypeError(`elementwise program node "${String(node.op)}" has unknown dtype ${JSON.stringify(node.dtype)}`);
  if (!Array.isArray(node.args)) throw new TypeError(`elementwise program node "${String(node.op)}" has no argument list`);
  const args = node.args.map((arg) => expressionOf(arg, program, position));
  if (node.op === "astype") {
    if (args.length !== 1) throw new TypeError(`astype takes 1 operand, got ${args.length}`);
    return castExpression(args[0], node.dtype);
  }
  const op = elementwiseOp(String(node.op));
  if (args.length !== op.arity) throw new TypeError(`${node.op} takes ${op.arity} operands, got ${args.length}`);
  return castExpression(op.expression(args, node.dtype), node.dtype);
}

