/**
 * weft: lazy task graphs for TypeScript, run in this process or on a cluster.
 *
 * @example
 * ```ts
 * import { delayed, task } from "weft";
 * const inc = task("inc", (x: number) => x + 1);
 * const add = task("add", (a: number, b: number) => a + b);
 * console.log(await delayed(add)(delayed(inc)(1), delayed(inc)(2)).compute()); // 5
 * ```
 */
export { Client, type AttachOptions, type ClientOptions, type ClusterClientOptions, type Computed, type ConnectOptions, type LocalClientOptions } from "./client.js";
export { LocalCluster, type LocalClusterApi, type LocalClusterHttpOptions, type LocalClusterOptions } from "./local-cluster.js";
export { ClientClosedError, type Progress, type SubmitArgs } from "./client-api.js";
export type { BackendRun, ClientBackend } from "./backend.js";
export { HttpApiError, SchedulerUnreachableError } from "./http-transport.js";
export { DEFAULT_RECONNECT_TIMEOUT_MS } from "./reconnect.js";
export { NoWorkersError } from "../scheduler/no-workers-watch.js";
export { progressBar, type ProgressBarOptions, type ProgressStream } from "./progress-bar.js";
export { asCompleted, CancelledError, Future, gather, isFuture, wait, type FutureStatus, type WaitOptions } from "./future.js";
export type { GraphJobFailure, JobEvent, JobPage, JobState, JobStatus, JobSummary, TaskCounts, WorkerInfo } from "../protocol/job-api.js";
export { compute, configure, defaultClient, persist } from "./default-client.js";
export { COLLECTION, collectComputation, isCollection, type Collection, type CollectionProtocol, type Computation, type Persistable } from "./collection.js";
export { collectGraph, Delayed, delayed, isDelayed, type DelayedOptions, type DelayedTuple, type Lazy } from "./delayed.js";
export { task, isTaskFunction, type TaskDefinitionOptions, type TaskFunction } from "./task.js";
export { TaskError } from "../protocol/task-error.js";
export { ClientInTaskModuleError } from "../protocol/task-module-loading.js";
export { GraphError, type GraphErrorCode } from "../graph/graph-error.js";
export { Call, Ref, taskSpec, type Graph, type Key, type TaskSpec } from "../graph/task-spec.js";
export type { OptimizeOptions } from "../graph/optimize.js";
export type { SchedulerConfig } from "../scheduler/core/scheduler-config.js";
export type { LocalExecutorKind } from "../scheduler/local-scheduler.js";
/** Chunked N-dimensional arrays (also importable as "weft/array"). */
export * as array from "./array/index.js";
