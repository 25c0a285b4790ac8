/**
 * Registers every dataframe kernel (`weft.df.*`). Worker processes import this module at start, so
 * dataframe graphs run on a cluster without `--import`; worker threads import each kernel's own
 * module on first use.
 */
import "./aggregate-kernel.js";
import "./arrow-ipc.js";
import "./csv-kernel.js";
import "./describe.js";
import "./drop-duplicates.js";
import "./join-kernel.js";
import "./nunique.js";
import "./parquet.js";
import "./partition-kernels.js";
import "./shuffle.js";
import "./sort-values.js";
import "./to-csv.js";
