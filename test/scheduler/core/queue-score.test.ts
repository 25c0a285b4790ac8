import { describe, expect, it } from "vitest";
import type { AssignTask, RescoreTask, SchedulerCommand } from "../../../scheduler/core/commands.js";
import type { CoreState } from "../../../scheduler/core/core-state.js";
import type { GraphSubmitted, SchedulerEvent } from "../../../scheduler/core/events.js";
import { packQueueScore, QUEUE_SEQ_LIMIT } from "../../../scheduler/core/queue-score.js";
import { SchedulerCore } from "../../../scheduler/core/scheduler-core.js";
import { seededRandom } from "../../support/seeded-random.js";

/** The core's state, to move its counters as a long-running scheduler's would be, without a million submissions. */
const stateOf = (core: SchedulerCore) => (core as unknown as { state: CoreState }).state;

const assigns = (commands: readonly SchedulerCommand[]) => commands.filter((c): c is AssignTask => c.type === "assign");
const rescores = (commands: readonly SchedulerCommand[]) => commands.filter((c): c is RescoreTask => c.type === "rescore");

/** A core with one worker roomy enough that every submitted task is assigned at once. */
function coreWithWorker(): SchedulerCore {
  const core = new SchedulerCore({ saturation: 100 });
  core.handle({ type: "worker-joined", worker: "w1", nthreads: 1 });
  return core;
}

/** Applies an event and checks every invariant of the core after it. */
function handle(core: SchedulerCore, event: SchedulerEvent): SchedulerCommand[] {
  const commands = core.handle(event);
  core.validate();
  return commands;
}

function submit(core: SchedulerCore, keys: readonly string[], userPriority?: number): SchedulerCommand[] {
  const event: GraphSubmitted = {
    type: "graph-submitted",
    client: `client-${keys[0]}`,
    tasks: keys.map((key, order) => ({ key, deps: [], order, userPriority })),
    wanted: [...keys],
  };
  return handle(core, event);
}

/**
 * Moves the core on as `submissions` one-task graphs run since would have: the submission counter,
 * and the progress of every priority in use (see queue-progress.ts), by that many sequences.
 */
function age(core: SchedulerCore, submissions: number): void {
  const state = stateOf(core);
  state.generation += submissions;
  for (const level of state.progress.values()) level.progress += submissions;
}

/** Runs a task assigned to w1 to the end; its result stays held while its client wants it. */
function run(core: SchedulerCore, key: string): void {
  handle(core, { type: "task-started", key, worker: "w1" });
  handle(core, { type: "task-finished", key, worker: "w1", nbytes: 8, durationMs: 1 });
}

/** The queue score each task was assigned with, by key. */
function scoresOf(commands: readonly SchedulerCommand[]): Map<string, number> {
  return new Map(assigns(commands).map((c) => [c.key, c.priority]));
}

describe("queue score", () => {
  it("orders as (user priority, sequence) does, exactly, across the whole priority range and sequence space", () => {
    const random = seededRandom(13);
    const ranks = [-1_000_000, -999_999, -1, -0, 0, 1, 999_999, 1_000_000];
    const seqs = [0, 1, 999_999, 1_000_000, 10_000_001, 2 ** 31, QUEUE_SEQ_LIMIT - 2, QUEUE_SEQ_LIMIT - 1];
    for (let i = 0; i < 2000; i++) ranks.push(Math.round((random() * 2 - 1) * 1_000_000)), seqs.push(Math.floor(random() * QUEUE_SEQ_LIMIT));
    const pairs = ranks.map((rank, i) => [rank, seqs[i]] as const);
    for (const [rank, seq] of pairs) expect(Number.isSafeInteger(packQueueScore(rank, seq))).toBe(true);
    for (let i = 0; i < pairs.length; i++) {
      const [ra, sa] = pairs[i];
      const [rb, sb] = pairs[(i * 7 + 1) % pairs.length];
      const expected = Math.sign(ra - rb || sa - sb);
      expect(Math.sign(packQueueScore(ra, sa) - packQueueScore(rb, sb))).toBe(expected);
    }
  });

  it("assigns a priority-1 task a lower score than a priority-0 task submitted a million graphs earlier", () => {
    const core = coreWithWorker();
    const early = scoresOf(submit(core, ["early-low"], 0));
    // A priority-1 task held since keeps that priority's queue in use while it moves on.
    submit(core, ["held-high"], 1);
    // As after 1,000,005 one-task submissions.
    age(core, 1_000_005);
    const late = scoresOf(submit(core, ["late-high"], 1));
    // The late task's sequence is past a million: it is the sequence part that grew, not the priority part.
    expect(late.get("late-high")! - packQueueScore(-1, 0)).toBeGreaterThan(1_000_000);
    expect(late.get("late-high")!).toBeLessThan(early.get("early-low")!);
  });

  it("keeps tasks already given to workers first among equal priorities after a million submissions", () => {
    const core = coreWithWorker();
    const first = scoresOf(submit(core, ["first-a", "first-b"]));
    age(core, 1_000_005);
    const second = scoresOf(submit(core, ["second-a"]));
    expect(first.get("first-a")!).toBeLessThan(first.get("first-b")!);
    expect(first.get("first-b")!).toBeLessThan(second.get("second-a")!);
    expect(second.get("second-a")! - first.get("first-b")!).toBeGreaterThan(1_000_000);
  });

  it("keeps the extremes of the priority range in order: 1,000,000 before 999,999 before -1,000,000", () => {
    const core = coreWithWorker();
    const low = scoresOf(submit(core, ["lowest"], -1_000_000));
    const high = scoresOf(submit(core, ["almost-highest"], 999_999));
    const top = scoresOf(submit(core, ["highest"], 1_000_000));
    expect(top.get("highest")!).toBeLessThan(high.get("almost-highest")!);
    expect(high.get("almost-highest")!).toBeLessThan(low.get("lowest")!);
  });

  it("keeps graph order among tasks at either end of the priority range", () => {
    for (const priority of [1_000_000, -1_000_000]) {
      const core = coreWithWorker();
      const scores = scoresOf(submit(core, [`first${priority}`, `second${priority}`], priority));
      expect(scores.get(`first${priority}`)!).toBeLessThan(scores.get(`second${priority}`)!);
    }
  });

  it("refuses a graph whose priority is outside ±1,000,000, naming the task and the range", () => {
    const core = coreWithWorker();
    for (const priority of [1_000_001, -1_000_001, 1e13, 0.5]) {
      const commands = submit(core, [`p${priority}`], priority);
      expect(commands).toEqual([
        {
          type: "graph-rejected",
          client: `client-p${priority}`,
          reason: `priority of task "p${priority}" must be an integer from -1000000 to 1000000, got ${priority}`,
          keys: [`p${priority}`],
        },
      ]);
    }
  });
});

describe("queue sequence renumbering", () => {
  /**
   * A core whose sequences run out after `limit`, so a test sees renumberings without billions of
   * tasks. Its priority-0 queue has moved on by `used` sequences, as in a scheduler that has run a
   * while: a result held all along ("kept", finished, still wanted) keeps that queue in use, so its
   * progress is never reset.
   */
  function coreWithLimit(limit: number, used = 1): SchedulerCore {
    const core = coreWithWorker();
    stateOf(core).queueSeqLimit = limit;
    submit(core, ["kept"]);
    run(core, "kept");
    stateOf(core).progress.get(0)!.progress = used - 1;
    return core;
  }

  it("renumbers when a submission would pass the limit, and rescores the tasks still queued so earlier graphs stay first", () => {
    const core = coreWithLimit(10, 7);
    const first = scoresOf(submit(core, ["a0", "a1", "a2"])); // sequences 7..9
    const commands = submit(core, ["b0", "b1", "b2"]); // would need 10..12: past the limit
    const rescored = new Map(rescores(commands).map((c) => [c.key, c.priority]));
    expect([...rescored.keys()]).toEqual(["a0", "a1", "a2"]);
    expect(rescores(commands).every((c) => c.workers.length === 1 && c.workers[0] === "w1")).toBe(true);
    // The rescores come before the new assigns, and the new scores keep a before b, as before.
    expect(commands.findIndex((c) => c.type === "rescore")).toBeLessThan(commands.findIndex((c) => c.type === "assign"));
    const second = scoresOf(commands);
    const order = [...rescored.entries(), ...second.entries()].sort((x, y) => x[1] - y[1]).map(([key]) => key);
    expect(order).toEqual(["a0", "a1", "a2", "b0", "b1", "b2"]);
    // The renumbered scores are smaller than the old ones: without the rescore, b would overtake a.
    expect(second.get("b0")!).toBeLessThan(first.get("a0")!);
  });

  it("does not rescore a task its worker has started, since it has left the queue", () => {
    const core = coreWithLimit(10, 8);
    submit(core, ["a0", "a1"]);
    handle(core, { type: "task-started", key: "a0", worker: "w1" });
    const commands = submit(core, ["b0", "b1", "b2"]);
    expect(rescores(commands).map((c) => c.key)).toEqual(["a1"]);
  });

  it("keeps submission order over ten thousand submissions and hundreds of renumberings", () => {
    const core = coreWithLimit(128);
    const scores = new Map<string, number>();
    let queued: string[] = [];
    const runAndRelease = (key: string, client: string) => {
      run(core, key);
      handle(core, { type: "keys-released", client, keys: [key] });
    };
    let renumberings = 0;
    for (let graph = 0; graph < 10_000; graph++) {
      // Each graph's first task runs; its second stays queued, so every renumbering has queued tasks to rescore.
      const commands = submit(core, [`g${graph}-run`, `g${graph}-queued`]);
      if (rescores(commands).length > 0) renumberings++;
      for (const c of rescores(commands)) scores.set(c.key, c.priority);
      for (const [key, score] of scoresOf(commands)) scores.set(key, score);
      queued.push(`g${graph}-queued`);
      runAndRelease(`g${graph}-run`, `client-g${graph}-run`);
      if (graph % 50 === 49) {
        const inQueue = queued.map((key) => scores.get(key)!);
        expect(inQueue).toEqual([...inQueue].sort((x, y) => x - y));
        expect(new Set(inQueue).size).toBe(inQueue.length);
        // The worker drains its queue, so the live tasks stay few and the small space suffices.
        for (const key of queued) runAndRelease(key, `client-${key.replace("-queued", "-run")}`);
        queued = [];
      }
    }
    expect(renumberings).toBeGreaterThan(100);
  });

  it("names both workers when rescoring a task that is being stolen", () => {
    const core = coreWithLimit(10, 8);
    handle(core, { type: "worker-joined", worker: "w2", nthreads: 1 });
    submit(core, ["a0", "a1"]);
    // Mark a queued task as on its way to the other worker, as a planned steal does.
    const a0 = stateOf(core).tasks.get("a0")!;
    const victim = a0.processingOn!;
    a0.stealingTo = stateOf(core).workers.get(victim.id === "w1" ? "w2" : "w1")!;
    const commands = submit(core, ["b0", "b1"]);
    const forA0 = rescores(commands).find((c) => c.key === "a0")!;
    expect(forA0.workers).toEqual([victim.id, a0.stealingTo.id]);
  });
});
