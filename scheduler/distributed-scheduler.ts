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
import { ControlPlane, MAX_EVENT_BATCH, type EventEntry, type QueuedTask, type RegisteredWorker, type RescoredTask } from "../protocol/redis/control-plane.js";
import { RedisWipedError, SchedulerFencedError, SchedulerLease, type LeaseHolder } from "../protocol/redis/scheduler-lease.js";
import { DEFAULT_HEARTBEAT_TTL_MS } from "../protocol/redis/control-plane.js";
import type { Logger } from "../protocol/logger.js";
import type { SchedulerConfig } from "./core/scheduler-config.js";
import type { WorkersUnavailable } from "./no-workers-watch.js";
import { SchedulerShell } from "./scheduler-shell.js";
import { ClusterGeneration } from "./cluster-generation.js";
import { WorkerAvailability } from "./worker-availability.js";
import { LeaseLostError, SchedulerRole, type SchedulerRoleOptions } from "./scheduler-role.js";

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
  /**
   * Where the scheduler says what an operator should know: it cleared its predecessor's queues, Redis
   * lost its data and the cluster is being reconciled. Default: nowhere.
   */
  readonly logger?: Logger;
  /**
   * Called once each time the scheduler finds that Redis lost its data (restarted empty), after it
   * has set its lease and a new cluster generation again: whatever else kept state in Redis (the
   * durable jobs queue) checks what it lost. Default: none.
   */
  readonly onRedisLostData?: () => void;
  /** Called for each task moved by work stealing from a saturated worker's queue to an idle worker's. Default: none. */
  readonly onSteal?: (steal: { readonly key: Key; readonly victim: WorkerId; readonly thief: WorkerId }) => void;
  /**
   * The lease on the scheduler role: one scheduler acts per Redis and prefix. Default: a 5 s lease,
   * and waiting as a standby while another scheduler holds it (see {@link SchedulerRoleOptions}).
   */
  readonly lease?: SchedulerRoleOptions;
}

/**
 * The scheduler of a cluster: the pure `SchedulerCore` in a shell of Redis I/O. Graphs come in through
 * {@link submit}; tasks go out to the workers' queues in one script call per worker and batch; the
 * workers' reports come back on the events stream and are handed to the core in batches; workers are
 * checked every tick for joins and deaths (a dead worker's tasks are recovered from Redis, so none is
 * lost) and the core plans stealing. Small results travel inline with the reports and are kept here,
 * so dependents get them without a fetch; large ones stay on the workers that computed them.
 *
 * One scheduler acts per cluster: {@link start} takes the scheduler role's lease in Redis first,
 * standing by while another scheduler holds it, and every write it makes carries the lease's epoch,
 * which the scripts check. If another scheduler takes the role (this one froze or was cut off past
 * its lease), this one stops acting at once, as soon as a renewal or a refused write tells it:
 * {@link deposed} is set and `lease.onLost` called.
 */
export class DistributedScheduler extends SchedulerShell {
  private readonly registered = new Map<WorkerId, RegisteredWorker>();
  private stopped = false;
  private tickTimer: NodeJS.Timeout | undefined;
  private ticking = false;
  private readerDone: Promise<void> = Promise.resolve();
  /** Why this scheduler stopped acting, once another took the role. */
  private lostRole: LeaseLostError | undefined;
  /** Whether any worker can take tasks, and since when none could. */
  private readonly availability = new WorkerAvailability(Date.now());
  /** Until then (ms), a worker missing from the registry is not retired: Redis lost its data, and workers register again with their next heartbeat. */
  private reregisterUntil = 0;
  /** The reconciliation after Redis lost its data, while under way. */
  private reconciling: Promise<void> | undefined;
  /** Tasks run in the worker processes. */
  readonly remote = true;

  private constructor(
    private readonly plane: ControlPlane,
    /** On a connection of its own: it blocks while waiting for events. */
    private readonly waiter: ControlPlane,
    private readonly data: DataClient,
    /** This scheduler's hold on the scheduler role. */
    readonly role: SchedulerRole,
    private readonly options: DistributedSchedulerOptions,
    private readonly sharedToken: SharedDataToken | undefined,
  ) {
    super(options.scheduler);
    this.generation = new ClusterGeneration(plane, { heartbeatTtlMs: options.heartbeatTtlMs ?? DEFAULT_HEARTBEAT_TTL_MS, logger: options.logger });
  }

  /** The cluster generation this scheduler began, and its workers' accounts. */
  private readonly generation: ClusterGeneration;

  /**
   * Resolves once every worker alive when this scheduler took the role has told it what it holds, or
   * a heartbeat lifetime has passed (see `ClusterGeneration.accountsIn`).
   */
  get accountsIn(): Promise<void> {
    return this.generation.accountsIn;
  }

  /**
   * Connects to Redis, takes the scheduler role (waiting as a standby while another scheduler holds
   * it, unless `lease.standby` is false), and starts watching workers and reading reports.
   */
  static async start(options: DistributedSchedulerOptions): Promise<DistributedScheduler> {
    // Named, so that an operator's CLIENT LIST tells the scheduler's connections apart.
    const name = `weft-scheduler-${process.pid}`;
    const redis = connectRedis(options.redis, options.onError, name);
    let role: SchedulerRole;
    let shared: SharedDataToken | undefined;
    try {
      role = await SchedulerRole.take(new SchedulerLease(redis, { prefix: options.prefix, ttlMs: options.lease?.ttlMs }), options.lease, options.onError);
      try {
        shared = options.token === undefined ? await SharedDataToken.start(redis, options.prefix, options.onError) : undefined;
      } catch (error) {
        await role.release().catch(() => undefined);
        throw error;
      }
    } catch (error) {
      redis.disconnect();
      throw error;
    }
    const plane = new ControlPlane(redis, { prefix: options.prefix, heartbeatTtlMs: options.heartbeatTtlMs, schedulerEpoch: role.epoch });
    const waiter = new ControlPlane(connectRedis(options.redis, options.onError, name), { prefix: options.prefix });
    const scheduler = new DistributedScheduler(plane, waiter, new DataClient({ token: shared?.keys ?? options.token! }), role, options, shared);
    role.keepRenewing(
      (holder) => scheduler.lose(holder, "a lease renewal"),
      (error) => options.onError?.(error),
    );
    await scheduler.generation.takeOver();
    scheduler.readerDone = scheduler.readEvents();
    await scheduler.tick();
    scheduler.tickTimer = setInterval(() => void scheduler.tick(), options.tickMs ?? 100);
    return scheduler;
  }

  /** The scheduler epoch this scheduler writes with (its lease's fencing token). */
  get epoch(): number {
    return this.role.epoch;
  }

  /** Set once this scheduler lost the scheduler role to another: it no longer acts. */
  get deposed(): LeaseLostError | undefined {
    return this.lostRole;
  }

  /**
   * Another scheduler took the role: stop acting at once (no more events taken, no work sent, no
   * submissions), then say so with who holds the role now. The renewal stops without a release.
   */
  private lose(holder: LeaseHolder | undefined, how: string): void {
    if (this.lostRole !== undefined || this.stopped) return;
    this.lostRole = new LeaseLostError(this.epoch, holder, how);
    this.stopped = true;
    this.role.stopRenewing();
    clearInterval(this.tickTimer);
    this.refuseSubmissions(`this scheduler stopped acting: it ${this.lostRole.message}`);
    // Ends a blocked wait for events at once.
    this.waiter.redis.disconnect();
    void (async () => {
      const lost = this.lostRole!;
      const known = lost.holder ?? (await this.role.currentHolder(1_000));
      const error = known === lost.holder ? lost : (this.lostRole = new LeaseLostError(lost.epoch, known, lost.how));
      if (this.options.lease?.onLost !== undefined) this.options.lease.onLost(error);
      else this.options.onError?.(error);
    })();
  }

  /** Errors of Redis calls: a fenced write means another scheduler took the role; others are survived. */
  private failed(error: unknown, what: string): void {
    if (error instanceof SchedulerFencedError) this.lose(undefined, `a refused ${what}`);
    else if (error instanceof RedisWipedError) void this.redisLostData(`a refused ${what}`);
    else if (!this.stopped) this.options.onError?.(error as Error);
  }

  /**
   * Redis lost its data (restarted empty, without persistence): the workers' queues, the reports not
   * yet read, the messages to workers and the registry are gone. Once per loss: the lease and epoch
   * are set again (a renewal does it), workers are given a heartbeat's time to register again before
   * any is presumed dead, and a new generation asks each for its account; the tasks each had been
   * sent are compared with its account, and those it never got are placed again
   * (`worker-accounts.ts`). Jobs' durable records are checked by `onRedisLostData`.
   */
  private redisLostData(how: string): Promise<void> {
    this.reconciling ??= (async () => {
      try {
        if (this.stopped) return;
        const ttl = this.options.heartbeatTtlMs ?? DEFAULT_HEARTBEAT_TTL_MS;
        this.reregisterUntil = Date.now() + 2 * ttl;
        this.options.logger?.warn(
          "Redis lost its data (restarted empty, without persistence?): reconciling with the workers; work it lost is done again, and jobs whose durable records are gone fail",
          { noticedBy: how },
        );
        if (!(await this.role.renewNow()) || this.stopped) return;
        await this.generation.afterDataLoss(new Map(this.core.workers.map((worker) => [worker, this.core.processingKeysOf(worker)])));
        this.options.onRedisLostData?.();
      } catch (error) {
        // Tried again at the next tick, which finds the generation missing still.
        this.failed(error, "reconciliation after Redis lost its data");
      } finally {
        this.reconciling = undefined;
      }
    })();
    return this.reconciling;
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

  /**
   * Stops ticking and reading, and gives up the scheduler role so that a standby takes it at once;
   * workers keep running.
   */
  async stop(): Promise<void> {
    const acting = !this.stopped;
    this.stopped = true;
    this.refuseSubmissions("the scheduler is stopped");
    clearInterval(this.tickTimer);
    this.waiter.redis.disconnect();
    await this.readerDone;
    if (acting) await this.role.release().catch((error: Error) => this.options.onError?.(error));
    else this.role.stopRenewing();
    this.plane.redis.disconnect();
    this.data.close();
    this.sharedToken?.stop();
  }

  /** Joins and deaths from the worker registry, then a tick for stealing. */
  private async tick(): Promise<void> {
    if (this.ticking || this.stopped) return;
    this.ticking = true;
    try {
      const [registered, generation] = await Promise.all([this.plane.listWorkers(), this.plane.generation()]);
      if (generation !== this.generation.current) {
        await this.redisLostData("the cluster generation missing from Redis");
        return;
      }
      const seen = new Set<WorkerId>();
      for (const worker of registered) {
        seen.add(worker.id);
        const known = this.registered.has(worker.id);
        if (worker.alive && worker.state === "running") {
          const wasPaused = this.registered.get(worker.id)?.paused === true;
          this.registered.set(worker.id, worker);
          if (!known) {
            this.enqueue({ type: "worker-joined", worker: worker.id, nthreads: worker.nthreads });
            const early = this.generation.joined(worker.id);
            if (early !== undefined) this.enqueue(early);
          }
          // A worker at its memory limit says so in its heartbeat: the core sends it nothing meanwhile.
          const paused = worker.paused === true;
          if (paused !== wasPaused) this.enqueue({ type: "worker-paused", worker: worker.id, paused });
        } else if (!(worker.alive && worker.state === "stopping")) {
          // Dead or silent. A stopping worker with a live heartbeat is left to finish its running
          // tasks: it handed back its queue when it began to stop, and retires itself when done.
          await this.retire(worker.id);
        }
      }
      // After Redis lost its data, workers are missing from the registry until their next heartbeat.
      if (Date.now() >= this.reregisterUntil) for (const id of [...this.registered.keys()]) if (!seen.has(id)) await this.retire(id);
      if (this.stopped) return;
      this.availability.note(this.registered.values(), Date.now());
      this.enqueue({ type: "tick", now: Date.now() });
    } catch (error) {
      this.failed(error, "recovery of a worker");
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
    return this.availability.unavailable;
  }

  /** A worker died or is stopping: take back what it holds in Redis and tell the core. */
  private async retire(id: WorkerId): Promise<void> {
    const recovered = await this.plane.recoverWorker(id, { onlyIfSilent: true });
    if (!recovered.recovered || this.stopped) return;
    this.registered.delete(id);
    this.generation.left(id);
    this.enqueue({ type: "worker-left", worker: id, running: recovered.inFlight.map((task) => task.key) });
  }

  /**
   * Takes workers' reports from the events stream until stopped, handing each batch to the core.
   * Each take reads and deletes in one fenced step, so a deposed scheduler takes nothing: the
   * reports stay for the scheduler that replaced it.
   */
  private async readEvents(): Promise<void> {
    while (!this.stopped) {
      let entries: EventEntry[];
      try {
        entries = await this.plane.takeEvents(MAX_EVENT_BATCH);
      } catch (error) {
        this.failed(error, "take of events");
        // Not in a tight loop while Redis answers with errors.
        if (!this.stopped) await new Promise((resolve) => setTimeout(resolve, 100));
        continue;
      }
      if (this.lostRole !== undefined) return;
      for (const entry of entries) this.onEntry(entry);
      this.drain();
      // Reports that came while this batch was handled are taken at once: a busy cluster costs one
      // round trip per batch. Only an empty stream is waited on.
      if (entries.length > 0) continue;
      try {
        await this.waiter.waitForEvents(1000);
      } catch (error) {
        if (!this.stopped) this.options.onError?.(error as Error);
      }
    }
  }

  private onEntry(entry: EventEntry): void {
    const { worker, data, returned } = entry;
    if (entry.account !== undefined) {
      const account = this.generation.account(entry, (worker) => this.registered.has(worker), this.options.onError);
      if (account !== undefined) this.inbox.push(account);
      return;
    }
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
    // A deposed scheduler acts no more: its writes would be refused, and its results may be stale.
    if (this.lostRole !== undefined) return;
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
        // A cancelled task still queued leaves the queue; the worker ends one it has taken.
        ...[...cancels].map(([worker, keys]) => this.plane.cancelTasks(worker, keys, encodeWorkerMessage({ type: "cancel", keys }))),
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
      this.failed(error, "write to the workers' queues");
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
