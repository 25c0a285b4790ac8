/**
 * Registers every `weft.array.*` task function. Worker processes import it through
 * `kernels/index.ts`, so array graphs run on any worker without `--import`.
 */
import "./assemble-kernels.js";
import "./creation-kernels.js";
import "./elementwise-kernels.js";
import "./linalg-kernels.js";
import "./random-kernels.js";
import "./reduction-kernels.js";
