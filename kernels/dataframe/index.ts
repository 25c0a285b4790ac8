/**
 * Registers every dataframe kernel (`weft.df.*`). Worker processes import it through `kernels/index.ts`, so
 * dataframe graphs run on a cluster without `--import`; worker threads import each kernel's own
 * module on first use. Kernel modules import no verb (graph-building) module, so a worker loads only
 * what runs tasks.
 */
import "./aggregate-kernel.js";
import "./csv-kernel.js";
import "./csv-write-kernel.js";
import "./describe-kernel.js";
import "./distinct-kernel.js";
import "./ipc-kernel.js";
import "./join-kernel.js";
import "./parquet-kernel.js";
import "./partition-kernels.js";
import "./shuffle-kernel.js";
import "./sort-kernel.js";
