/** The task functions of elementwise arrays: the fused kernel every elementwise block runs. */
import { registerTask } from "../../protocol/task-registry.js";
import { type Block, BORROWS_INPUTS } from "./block.js";
import { type ElementwiseProgram, evaluateProgram } from "./compile-kernel.js";

const here = import.meta.url;

/** `weft.array.elementwise(program, shape, ...blocks)`: one output block of a fused elementwise chain. */
export const ELEMENTWISE = "weft.array.elementwise";

registerTask(ELEMENTWISE, (program: ElementwiseProgram, shape: readonly number[], ...blocks: Block[]) => evaluateProgram(program, shape, blocks), here, BORROWS_INPUTS);
