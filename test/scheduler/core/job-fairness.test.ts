import { describe, expect, it } from "vitest";
import type { RescoreTask, StealTask } from "../../../scheduler/core/commands.js";
import { independentTasks, ScoredCluster, treeTasks } from "./scored-workers.js";

/**
 * Jobs of one user priority share the workers: they take turns, a job submitted while another runs
 * joins the turns at once, and each job keeps its graph order (see scheduler/core/queue-progress.ts).
 * The pretend workers take tasks by the scores the core gives them, as the Redis queues do, so these
 * tests see the order in which tasks really run.
 */

/** The job a key belongs to: the part before the first "-". */
const jobOf = (key: string) => key.slice(0, key.indexOf("-"));

/** One worker holding one task at a time: the order of assignments is the order of the core's queue. */
const ONE_AT_A_TIME = { saturation: 1, fillMs: 0 };

/**
 * How the small job fares when sent while a big job of `bigSize` independent 1 ms tasks runs on two
 * workers (which then hold 5 tasks each: 5 ms of work, the default `fillMs`): how many big tasks are
 * assigned before it, and how many run while it waits.
 */
function smallJobBesideBigJob(bigSize: number, validating = true): { assignedBefore: number; bigRunMeanwhile: number; cluster: ScoredCluster } {
  const cluster = new ScoredCluster({}, ["w1", "w2"]);
  cluster.validating = validating;
  cluster.submit(independentTasks("big", bigSize));
  cluster.runTasks(100);
  const assignedAtSubmission = cluster.assigned.length;
  const finishedAtSubmission = cluster.finished.length;
  cluster.submit(independentTasks("small", 1));
  cluster.runUntil(() => cluster.finished.includes("small-0"));
  return {
    assignedBefore: cluster.assigned.indexOf("small-0") - assignedAtSubmission,
    bigRunMeanwhile: cluster.finished.length - finishedAtSubmission - 1,
    cluster,
  };
}

describe("fairness between jobs of one priority", () => {
  it("a 1-task job submitted while a 4,000-task job has tasks queued runs within the next few assignments", () => {
    const { assignedBefore, bigRunMeanwhile, cluster } = smallJobBesideBigJob(4000);
    // The big job's next task wins the tie (the older job first); then the small job's.
    expect(assignedBefore).toBeLessThanOrEqual(1);
    // It waits for what the two workers' queues already held (5 each), not for the 3,900 big tasks left.
    expect(bigRunMeanwhile).toBeLessThanOrEqual(2 * 5 + 1);
    expect(cluster.core.counts().queued).toBeGreaterThan(3000);
  });

  it("a small job's wait does not grow with the size of the job already running", () => {
    const waits = [400, 4000, 40_000].map((size) => {
      // Validating after every event of a 40,000-task core costs minutes: that one is checked at the end.
      const { assignedBefore, bigRunMeanwhile, cluster } = smallJobBesideBigJob(size, size <= 4000);
      cluster.core.validate();
      return { assignedBefore, bigRunMeanwhile };
    });
    expect(waits[1]).toEqual(waits[0]);
    expect(waits[2]).toEqual(waits[0]);
  });

  it("a job submitted while another is half done goes level with its next task, not behind the rest of it", () => {
    const cluster = new ScoredCluster(ONE_AT_A_TIME, ["w1"]);
    cluster.submit(independentTasks("a", 1000));
    cluster.runTasks(500);
    const assignedAtSubmission = cluster.assigned.length;
    cluster.submit(independentTasks("b", 100));
    cluster.runTasks(300);
    // a-500 was in the worker when b came; then the two alternate, the older job first in each turn.
    const turns = Array.from({ length: 100 }, (_, i) => [`a-${501 + i}`, `b-${i}`]).flat();
    expect(cluster.assigned.slice(assignedAtSubmission, assignedAtSubmission + 200)).toEqual(turns);
    expect(cluster.assigned.slice(assignedAtSubmission + 200, assignedAtSubmission + 210)).toEqual(
      Array.from({ length: 10 }, (_, i) => `a-${601 + i}`),
    );
  });

  it("equal-priority jobs submitted together alternate, one task each", () => {
    const cluster = new ScoredCluster(ONE_AT_A_TIME, ["w1"]);
    for (const name of ["a", "b", "c"]) cluster.submit(independentTasks(name, 50));
    cluster.runUntil(() => cluster.core.counts().queued === 0);
    // a-0 went to the idle worker as a was submitted; from then on a, b and c take turns.
    expect(cluster.assigned[0]).toBe("a-0");
    expect(cluster.assigned.slice(1, 1 + 3 * 49).map(jobOf).join("")).toBe("abc".repeat(49));
    expect(cluster.assigned.slice(1 + 3 * 49)).toEqual(["b-49", "c-49"]);
  });

  it("within a job, the graph order is kept: each job runs its tree reduction depth-first while the jobs take turns", () => {
    const x = treeTasks("x", 64);
    const y = treeTasks("y", 64);
    const cluster = new ScoredCluster(ONE_AT_A_TIME, ["w1"]);
    cluster.submit(x);
    cluster.submit(y);
    cluster.runUntil(() => cluster.core.counts().memory === x.length + y.length);
    // Each job's own tasks run exactly in its graph order (sums right after their inputs), ...
    expect(cluster.finished.filter((key) => jobOf(key) === "x")).toEqual(x.map((task) => task.key));
    expect(cluster.finished.filter((key) => jobOf(key) === "y")).toEqual(y.map((task) => task.key));
    // ... and neither job waits for the other: they alternate from the start.
    const firstHalf = cluster.finished.slice(0, x.length);
    expect(firstHalf.filter((key) => jobOf(key) === "y").length).toBeGreaterThanOrEqual(x.length / 2 - 1);
  });

  it("a task whose inputs are ready goes before its job's later roots and before jobs submitted since", () => {
    // Chains of three: each chain's later links have sequences below the progress once its first runs.
    const chains = Array.from({ length: 100 }, (_, c) => [
      { key: `a-${c}-0`, deps: [] },
      { key: `a-${c}-1`, deps: [`a-${c}-0`] },
      { key: `a-${c}-2`, deps: [`a-${c}-1`] },
    ]).flat();
    const cluster = new ScoredCluster(ONE_AT_A_TIME, ["w1"]);
    cluster.submit(chains);
    cluster.runTasks(1);
    cluster.submit(independentTasks("b", 10));
    cluster.runTasks(12);
    // Chain 0 is finished before b's first task or chain 1 start; then b takes its turns with a's chains.
    expect(cluster.finished.slice(0, 3)).toEqual(["a-0-0", "a-0-1", "a-0-2"]);
    expect(cluster.finished.slice(3, 13).filter((key) => jobOf(key) === "b").length).toBeGreaterThanOrEqual(2);
  });

  it("a job's arrival rescores no queued task: only a renumbering changes a score already given", () => {
    const { cluster } = smallJobBesideBigJob(4000);
    expect(cluster.log.filter((command): command is RescoreTask => command.type === "rescore")).toEqual([]);
  });
});

describe("fairness and user priorities", () => {
  it("a higher user priority still wins over fairness, and an ordinary job sent meanwhile waits for it", () => {
    const cluster = new ScoredCluster(ONE_AT_A_TIME, ["w1"]);
    cluster.submit(independentTasks("a", 1000));
    cluster.runTasks(100);
    const assignedAtSubmission = cluster.assigned.length;
    cluster.submit(independentTasks("urgent", 50), 1);
    cluster.submit(independentTasks("b", 1));
    cluster.runTasks(60);
    const next = cluster.assigned.slice(assignedAtSubmission, assignedAtSubmission + 53);
    expect(next).toEqual([...independentTasks("urgent", 50).map((task) => task.key), "a-101", "b-0", "a-102"]);
  });

  it("each priority keeps its own progress: a higher-priority job run in between does not push the next ordinary job behind the one still running", () => {
    const cluster = new ScoredCluster({}, ["w1", "w2"]);
    cluster.submit(independentTasks("big", 2000));
    cluster.runTasks(100);
    // 500 sequences of progress at priority 1: counted with priority 0's, they would put the small
    // job behind 500 more big tasks.
    cluster.submit(independentTasks("urgent", 500), 1);
    cluster.runUntil(() => cluster.finished.includes("urgent-499"));
    const assignedAtSubmission = cluster.assigned.length;
    cluster.submit(independentTasks("small", 1));
    cluster.runUntil(() => cluster.finished.includes("small-0"));
    expect(cluster.assigned.indexOf("small-0") - assignedAtSubmission).toBeLessThanOrEqual(1);
    expect(cluster.core.counts().queued).toBeGreaterThan(1500);
  });
});

describe("fairness across renumbering and stealing", () => {
  it("fairness survives renumbering: jobs take the same turns whether or not the sequences were renumbered", () => {
    const run = (queueSeqLimit: number | undefined) => {
      const cluster = new ScoredCluster({}, ["w1", "w2"], true);
      if (queueSeqLimit !== undefined) cluster.state.queueSeqLimit = queueSeqLimit;
      cluster.submit(independentTasks("a", 900));
      cluster.runTasks(450);
      // With a limit of 1,000, b's 700 sequences from a's progress (about 460) do not fit: a renumbering.
      cluster.submit(independentTasks("b", 700));
      cluster.runTasks(20);
      cluster.submit(independentTasks("c", 1));
      cluster.runUntil(() => cluster.core.size === 0);
      return cluster;
    };
    const renumbered = run(1000);
    const plain = run(undefined);
    const rescores = renumbered.log.filter((command): command is RescoreTask => command.type === "rescore");
    expect(rescores.length).toBeGreaterThan(0);
    expect(plain.log.some((command) => command.type === "rescore")).toBe(false);
    expect(renumbered.finished).toEqual(plain.finished);
    // And the turns were fair: c ran at once, b and a alternated.
    const afterB = plain.finished.slice(450);
    expect(afterB.indexOf("c-0")).toBeLessThan(40);
    expect(afterB.slice(20, 420).filter((key) => jobOf(key) === "b").length).toBeGreaterThanOrEqual(190);
  });

  it("work stealing does not undo the turns: the new job's task, last in a saturated worker's queue, is the first offered to an idle worker", () => {
    const cluster = new ScoredCluster({ saturation: 10 }, ["w1"]);
    // Tasks measured at 100 ms, long enough to be worth moving.
    cluster.submit(independentTasks("warmup", 1));
    cluster.runTasks(1, 100);
    // All of a went to w1 before b came, so b's task is last there: 9 steps away on w1 alone.
    cluster.submit(independentTasks("a", 8));
    cluster.submit(independentTasks("b", 1));
    cluster.addWorker("w2");
    const steals = cluster.send({ type: "tick", now: 100 }).filter((command): command is StealTask => command.type === "steal");
    expect(steals[0]).toMatchObject({ key: "b-0", victim: "w1", thief: "w2" });
    // The stolen tasks keep their scores on w2, so b's still comes after the a tasks given out before
    // it there; but it runs within 4 steps instead of 9.
    let steps = 0;
    cluster.runUntil(() => (steps++, cluster.finished.includes("b-0")), 100, 100);
    expect(steps - 1).toBeLessThanOrEqual(4);
  });
});
