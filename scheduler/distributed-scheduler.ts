import type { Redis } from "ioredis";
import type { Key } from "../graph/task-spec.js";
import { DataClient } from "../protocol/data-client.js";
import { SharedDataToken } from "../protocol/redis/data-token.js";
import { encodeTaskMessage, type InputSource } from "../protocol/task-message.js";
import { decodeReports } from "../protocol/task-report.js";
import { unregisteredFunctionMessage } from "../protocol/unregistered-function.js";
import { encodeWorkerMessage } from "../protocol/worker-message.js";
import type { SchedulerCommand } from "./core/commands.js";
import type { ClientId, WorkerId } from "../protocol/ids.js";
import type { WorkerInfo } from "../protocol/job-api.js";
import type { LocalTask } from "./local-task.js";
import type { SubmissionChecks } from "./prepare-submission.js";
import { connectRedis } from "../protocol/redis/connect-redis.js";
import { ControlPlane, parseEventFields, type QueuedTask, type RegisteredWorker, type RescoredTask } from "../protocol/redis/control-plane.js";
import type { SchedulerConfig } from "./core/scheduler-config.js";
import type { WorkersUnavailable } from "./no-workers-watch.js";
import { SchedulerShell } from "./scheduler-shell.js";

/** Options of {@link DistributedScheduler.start}. */
export interface DistributedSchedulerOptions {
  /** Redis URL, such as `redis://127.0.0.1:6379`. */
  readonly redis: string;
  /** Key prefix shared with the workers. Default `"weft"`. */
  readonly prefix?: string;
  /** Tuning of the scheduling core. */
  readonly scheduler?: SchedulerConfig;
  /** How often workers are checked for joins and deaths and stealing is planned, in ms. Default 100. */
  readonly tickMs?: number;
  /** Heartbeat lifetime the workers use, in ms. Default 3,000. */
  readonly heartbeatTtlMs?: number;
  /**
   * The data token of the workers' data servers, to fetch results. Default: the cluster's token in
   * Redis under the prefix, made by the first process that needed it (`protocol/redis/data-token.ts`).
   * Give it to all of a cluster's processes or to none.
   */
  readonly token?: string;
  /** Called with errors the scheduler survives (a failed Redis call, say). Default: ignored. */
  readonly onError?: (error: Error) => void;
  /** Called for each task moved by work stealing from a saturated worker's queue to an idle worker's. Default: none. */
  readonly onSteal?: (steal: { readonly key: Key; readonly victim: WorkerId; readonly thief: WorkerId }) => void;
}

/**
 * The scheduler of a cluster: the pure `SchedulerCore` in a shell of Redis I/O. Graphs come in through
 * {@link submit}; tasks go out to the workers' queues in one script call per worker and batch; the
 * workers' reports come back on the events stream and are handed to the core in batches; workers are
 * checked every tick for joins and deaths (a dead worker's tasks are recovered from Redis, so none is
 * lost) and the core plans stealing. Small results travel inline with the reports and are kept here,
 * so dependents get them without a fetch; large ones stay on the workers that computed them.
 */
export class DistributedScheduler extends SchedulerShell {
  private readonly registered = new Map<WorkerId, RegisteredWorker>();
  private stopped = false;
  private tickTimer: NodeJS.Timeout | undefined;
  private ticking = false;
  private readonly readerDone: Promise<void>;
  private lastEventId = "0";
  /** Since when no worker could take tasks (none joined, all gone or paused); undefined while one can. */
  private unavailable: WorkersUnavailable | undefined = { since: Date.now(), reason: "no worker has joined the scheduler" };
  /** Whether a worker has ever joined: says which of the reasons it is. */
  private everJoined = false;
  /** Tasks run in the worker processes. */
  readonly remote = true;

  private constructor(
    private readonly plane: ControlPlane,
    private readonly reader: Redis,
    private readonly data: DataClient,
    private readonly options: DistributedSchedulerOptions,
    private readonly sharedToken: SharedDataToken | undefined,
  ) {
    super(options.scheduler);
    this.readerDone = this.readEvents();
  }

  /** Connects to Redis and starts watching workers and reading reports. */
  static async start(options: DistributedSchedulerOptions): Promise<DistributedScheduler> {
    const plane = new ControlPlane(connectRedis(options.redis, options.onError), {
      prefix: options.prefix,
      heartbeatTtlMs: options.heartbeatTtlMs,
    });
    const reader = connectRedis(options.redis, options.onError);
    const shared = options.token === undefined ? await SharedDataToken.start(plane.redis, options.prefix, options.onError) : undefined;
    const scheduler = new DistributedScheduler(plane, reader, new DataClient({ token: shared?.keys ?? options.token! }), options, shared);
    await scheduler.tick();
    scheduler.tickTimer = setInterval(() => void scheduler.tick(), options.tickMs ?? 100);
    return scheduler;
  }

  /** Workers the core knows, by id. */
  get workerIds(): WorkerId[] {
    return this.core.workers;
  }


  /**
   * Whether a task may call `name`: true when a live worker advertises it, or when no worker
   * advertises its functions at all (there is nothing to check against; a worker without the
   * function then fails the task with a clear error).
   */
  knowsFunction(name: string): boolean {
    let advertised = false;
    for (const worker of this.registered.values()) {
      if (worker.functions === undefined) continue;
      advertised = true;
      if (worker.functions.includes(name)) return true;
    }
    return !advertised;
  }

  /**
   * The workers that joined, with their load as the core sees it, their registry record, and the
   * tasks still waiting in their Redis queues (not taken yet).
   */
  async workers(): Promise<WorkerInfo[]> {
    const loads = this.core.workerLoads();
    const queued = await this.queuedOnWorkers(loads.map((load) => load.id));
    return loads.map((load, i) => {
      const registered = this.registered.get(load.id);
      return {
        id: load.id,
        nthreads: load.nthreads,
        queued: Math.min(queued[i], load.processing),
        running: Math.max(0, load.processing - queued[i]),
        results: load.results,
        memoryBytes: load.nbytes,
        rssBytes: registered?.rssBytes ?? 0,
        paused: registered?.paused === true,
        ...(registered?.memoryLimitBytes !== undefined && { memoryLimitBytes: registered.memoryLimitBytes }),
        address: registered?.dataAddress ?? "",
        pid: registered?.pid ?? 0,
        functions: registered?.functions?.length ?? 0,
      };
    });
  }

  private async queuedOnWorkers(ids: readonly WorkerId[]): Promise<number[]> {
    if (ids.length === 0) return [];
    const pipeline = this.plane.redis.pipeline();
    for (const id of ids) pipeline.zcard(this.plane.keys.workerQueue(id));
    const replies = (await pipeline.exec()) ?? [];
    return replies.map(([error, count]) => (error ? 0 : Number(count)));
  }

  protected functionChecks(): Pick<SubmissionChecks, "isKnownFunction" | "describeUnknownFunction" | "serializable"> {
    return {
      // Functions are registered on the workers, not here: a name is known when a worker advertises it.
      isKnownFunction: (name) => this.knowsFunction(name),
      // Says to start the workers with --import, naming the module when this process registered the function.
      describeUnknownFunction: unregisteredFunctionMessage,
      // Arguments travel to other processes.
      serializable: true,
    };
  }

  /** Stops ticking and reading; workers keep running. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.refuseSubmissions("the scheduler is stopped");
    clearInterval(this.tickTimer);
    this.reader.disconnect();
    await this.readerDone;
    this.plane.redis.disconnect();
    this.data.close();
    this.sharedToken?.stop();
  }

  /** Joins and deaths from the worker registry, then a tick for stealing. */
  private async tick(): Promise<void> {
    if (this.ticking || this.stopped) return;
    this.ticking = true;
    try {
      const registered = await this.plane.listWorkers();
      const seen = new Set<WorkerId>();
      for (const worker of registered) {
        seen.add(worker.id);
        const known = this.registered.has(worker.id);
        if (worker.alive && worker.state === "running") {
          const wasPaused = this.registered.get(worker.id)?.paused === true;
          this.registered.set(worker.id, worker);
          if (!known) this.enqueue({ type: "worker-joined", worker: worker.id, nthreads: worker.nthreads });
          // A worker at its memory limit says so in its heartbeat: the core sends it nothing meanwhile.
          const paused = worker.paused === true;
          if (paused !== wasPaused) this.enqueue({ type: "worker-paused", worker: worker.id, paused });
        } else if (!(worker.alive && worker.state === "stopping")) {
          // Dead or silent. A stopping worker with a live heartbeat is left to finish its running
          // tasks: it handed back its queue when it began to stop, and retires itself when done.
          await this.retire(worker.id);
        }
      }
      for (const id of [...this.registered.keys()]) if (!seen.has(id)) await this.retire(id);
      this.noteAvailability();
      this.enqueue({ type: "tick", now: Date.now() });
    } catch (error) {
      this.options.onError?.(error as Error);
    } finally {
      this.ticking = false;
    }
  }

  /**
   * Since when no worker could take tasks, and why; undefined while one can. Judged from the worker
   * registry at each tick: a worker counts while its heartbeat lives, it is not stopping, and it is
   * not paused at its memory limit.
   */
  workersUnavailable(): WorkersUnavailable | undefined {
    return this.unavailable;
  }

  private noteAvailability(): void {
    let paused = 0;
    for (const worker of this.registered.values()) {
      if (worker.paused !== true) {
        this.everJoined = true;
        this.unavailable = undefined;
        return;
      }
      paused++;
    }
    const reason =
      paused > 0
        ? `every worker (${paused}) is paused at its memory limit`
        : this.everJoined
          ? "every worker has left the scheduler (a nanny that gave up on its crashing workers says so in its log)"
          : "no worker has joined the scheduler";
    if (this.unavailable === undefined || this.unavailable.reason !== reason) {
      this.unavailable = { since: this.unavailable?.since ?? Date.now(), reason };
    }
  }

  /** A worker died or is stopping: take back what it holds in Redis and tell the core. */
  private async retire(id: WorkerId): Promise<void> {
    const recovered = await this.plane.recoverWorker(id, { onlyIfSilent: true });
    if (!recovered.recovered) return;
    this.registered.delete(id);
    this.enqueue({ type: "worker-left", worker: id, running: recovered.inFlight.map((task) => task.key) });
  }

  /** Reads workers' reports from the events stream until stopped, handing each batch to the core. */
  private async readEvents(): Promise<void> {
    const stream = this.plane.keys.events;
    while (!this.stopped) {
      let reply: [Buffer, [Buffer, Buffer[]][]][] | null;
      try {
        reply = (await this.reader.xreadBuffer("COUNT", 1000, "BLOCK", 1000, "STREAMS", stream, this.lastEventId)) as typeof reply;
      } catch (error) {
        if (!this.stopped) this.options.onError?.(error as Error);
        continue;
      }
      if (reply === null) continue;
      const ids: string[] = [];
      for (const [, entries] of reply) {
        for (const [id, fields] of entries) {
          ids.push((this.lastEventId = id.toString()));
          this.onEntry(fields);
        }
      }
      this.drain();
      // Read entries are done with: the stream is a channel, not a log.
      if (ids.length > 0) await this.plane.redis.xdel(stream, ...ids).catch(() => undefined);
    }
  }

  private onEntry(fields: Buffer[]): void {
    const { worker, data, returned } = parseEventFields(fields);
    if (returned !== undefined) this.inbox.push({ type: "worker-stopping", worker, returned });
    if (data === undefined || data.byteLength === 0) return;
    for (const report of decodeReports(data)) {
      // A task the core cancelled: it no longer counts on it, whatever became of it.
      if (report.kind === "cancelled") continue;
      if (this.followed && report.kind !== "missing-data") {
        this.notifyReport(
          report.kind === "finished"
            ? { kind: "finished", key: report.key, worker, durationMs: report.durationMs }
            : { kind: "erred", key: report.key, worker, durationMs: report.durationMs, error: report.error },
        );
      }
      if (report.kind === "finished") {
        const inline = report.inline !== undefined;
        if (inline) this.holdInline(report.key, report.inline!.value);
        this.inbox.push({ type: "task-finished", key: report.key, worker, nbytes: report.nbytes, durationMs: report.durationMs, inline });
      } else if (report.kind === "erred") {
        this.inbox.push({ type: "task-erred", key: report.key, worker, error: report.error, durationMs: report.durationMs });
      } else {
        this.inbox.push({ type: "task-missing-data", key: report.key, worker, missing: report.missing });
      }
    }
  }

  /** Keeps a small result here, in its task's record, to send inline to dependents and clients. */
  private holdInline(key: Key, value: unknown): void {
    const task = this.core.runSpecOf(key) as LocalTask | undefined;
    if (task === undefined) return;
    task.value = value;
    task.hasValue = true;
  }

  protected carryOut(commands: readonly SchedulerCommand[]): void {
    const assignments = new Map<WorkerId, QueuedTask[]>();
    const releases = new Map<WorkerId, Key[]>();
    const cancels = new Map<WorkerId, Key[]>();
    const steals = new Map<string, { victim: WorkerId; thief: WorkerId; keys: Key[] }>();
    const copies = new Map<WorkerId, Uint8Array[]>();
    const rescores = new Map<WorkerId, RescoredTask[]>();
    for (const command of commands) {
      switch (command.type) {
        case "assign": {
          const task = command.runSpec as LocalTask;
          const payload = encodeTaskMessage({
            key: command.key,
            fn: task.fn,
            args: task.spec.args,
            inputs: (command.inputs as readonly LocalTask[]).map((input) => this.sourceOf(input)),
            attempt: 0,
            timeoutMs: task.timeoutMs,
          });
          push(assignments, command.worker, { key: command.key, priority: command.priority, payload });
          break;
        }
        case "steal": {
          const pair = `${command.victim}\u0000${command.thief}`;
          let entry = steals.get(pair);
          if (entry === undefined) steals.set(pair, (entry = { victim: command.victim, thief: command.thief, keys: [] }));
          entry.keys.push(command.key);
          break;
        }
        case "rescore":
          for (const worker of command.workers) push(rescores, worker, { key: command.key, priority: command.priority });
          break;
        case "release":
          if (command.runSpec !== undefined) forget(command.runSpec as LocalTask);
          for (const worker of command.workers) push(releases, worker, command.key);
          break;
        case "cancel":
          push(cancels, command.worker, command.key);
          break;
        case "forget":
          if (command.runSpec !== undefined) forget(command.runSpec as LocalTask);
          break;
        case "result": {
          const task = command.runSpec as LocalTask;
          // A worker holds the data now: the partitions a program scatters must not pile up here.
          task.letGoOfScatteredData();
          void this.deliver(command.key, command.clients, task, command.workers);
          break;
        }
        case "replicate": {
          const from = this.registered.get(command.from)?.dataAddress;
          if (from !== undefined) push(copies, command.worker, encodeWorkerMessage({ type: "replicate", keys: command.keys, from }));
          break;
        }
        case "error":
        case "graph-rejected":
          this.report(command, () => undefined);
          break;
      }
    }
    void this.send(assignments, releases, cancels, steals, copies, rescores);
  }

  /** Where a worker gets an input: inline when held here, else from the workers holding it. */
  private sourceOf(input: LocalTask): InputSource {
    if (input.hasValue) return { key: input.key, inline: true, value: input.value };
    const holders = this.core.whoHas(input.key).map((worker) => ({ worker, address: this.registered.get(worker)?.dataAddress ?? "" }));
    return { key: input.key, inline: false, holders };
  }

  private async send(
    assignments: Map<WorkerId, QueuedTask[]>,
    releases: Map<WorkerId, Key[]>,
    cancels: Map<WorkerId, Key[]>,
    steals: Map<string, { victim: WorkerId; thief: WorkerId; keys: Key[] }>,
    copies: Map<WorkerId, Uint8Array[]>,
    rescores: Map<WorkerId, RescoredTask[]>,
  ): Promise<void> {
    try {
      await Promise.all([
        // Sent first: on this one connection Redis runs the commands in the order they are sent, so
        // a rescore sees every enqueue and steal sent before it and none sent after.
        ...[...rescores].map(([worker, tasks]) => this.plane.rescoreTasks(worker, tasks)),
        ...[...assignments].map(async ([worker, tasks]) => {
          const outcome = await this.plane.enqueueTasks(worker, tasks);
          // A worker that began to stop (or died) meanwhile takes nothing: the tasks go back to the
          // core to be placed elsewhere, and a dead worker is retired.
          if (!outcome.accepted) {
            this.inbox.push({ type: "worker-stopping", worker, returned: tasks.map((task) => task.key) });
            if (outcome.state === "dead") await this.retire(worker);
          }
        }),
        ...[...releases].map(([worker, keys]) => this.plane.sendToWorker(worker, [encodeWorkerMessage({ type: "release", keys })])),
        ...[...cancels].map(([worker, keys]) => this.plane.sendToWorker(worker, [encodeWorkerMessage({ type: "cancel", keys })])),
        ...[...copies].map(([worker, messages]) => this.plane.sendToWorker(worker, messages)),
        ...[...steals.values()].map(async ({ victim, thief, keys }) => {
          const outcome = await this.plane.stealTasks(victim, thief, keys);
          for (const key of outcome.accepted) {
            this.inbox.push({ type: "steal-accepted", key, victim, thief });
            this.options.onSteal?.({ key, victim, thief });
          }
          for (const key of outcome.refused) this.inbox.push({ type: "steal-refused", key, victim });
        }),
      ]);
    } catch (error) {
      this.options.onError?.(error as Error);
    }
    this.drain();
  }

  /** Hands a wanted result to its clients: from here when it came inline, else fetched from a holder. */
  private async deliver(key: Key, clients: readonly ClientId[], task: LocalTask, workers: readonly WorkerId[]): Promise<void> {
    let value: unknown;
    if (task.hasValue) {
      value = task.value;
    } else if (clients.every((client) => this.clients.get(client)?.wantsValues === false)) {
      // Only that the result is held matters (a scatter): nothing is fetched.
      value = undefined;
    } else {
      const found = await this.fetch(key, workers);
      if (!found.ok) {
        // Every holder failed: the core recomputes the result, and reports it again when done.
        this.enqueue({ type: "results-lost", missing: workers.map((worker) => ({ key, worker })) });
        return;
      }
      value = found.value;
    }
    this.report({ type: "result", key, clients, workers, nbytes: 0, runSpec: task }, () => value);
  }

  private async fetch(key: Key, workers: readonly WorkerId[]): Promise<{ ok: true; value: unknown } | { ok: false }> {
    for (const worker of workers) {
      const address = this.registered.get(worker)?.dataAddress;
      if (address === undefined) continue;
      try {
        const [frame] = await this.data.fetch(address, [key]);
        if (frame.found) return { ok: true, value: frame.value };
      } catch {
        // Try the next holder.
      }
    }
    return { ok: false };
  }
}

function push<T>(groups: Map<WorkerId, T[]>, worker: WorkerId, item: T): void {
  let group = groups.get(worker);
  if (group === undefined) groups.set(worker, (group = []));
  group.push(item);
}

function forget(task: LocalTask): void {
  task.value = undefined;
  task.hasValue = false;
}
