import type { TaskState } from "./task-state.js";

/**
 * Ready tasks waiting in the scheduler for a worker with room, highest priority first. A binary heap
 * that records each task's position (`heapIndex`), so a task leaving the queue early (cancelled, or an
 * input lost) is removed in O(log n) rather than searched for.
 *
 * The sort keys live in typed arrays beside the heap rather than being read from the tasks: sifting
 * compares a dozen entries per operation, and reading them from contiguous memory instead of from
 * task objects scattered over the heap is what makes a queue of thousands of tasks cheap.
 */
export class ReadyQueue {
  private tasks: TaskState[] = [];
  /** The keys of `comparePriority`, by heap position: negated user priority, queue sequence, submission. */
  private rank = new Float64Array(64);
  private seq = new Float64Array(64);
  private generation = new Float64Array(64);

  get size(): number {
    return this.tasks.length;
  }

  peek(): TaskState | undefined {
    return this.tasks[0];
  }

  push(task: TaskState): void {
    const index = this.tasks.length;
    if (index === this.rank.length) this.grow();
    this.tasks.push(task);
    this.place(index, task, task.userRank, task.queueSeq, task.generation);
    this.up(index);
  }

  pop(): TaskState | undefined {
    const top = this.tasks[0];
    if (top !== undefined) this.removeAt(0);
    return top;
  }

  remove(task: TaskState): void {
    if (task.heapIndex >= 0) this.removeAt(task.heapIndex);
  }

  has(task: TaskState): boolean {
    return task.heapIndex >= 0 && this.tasks[task.heapIndex] === task;
  }

  /**
   * Reads the tasks' queue sequences again after a renumbering (see `queue-score.ts`). The heap stays
   * valid: a renumbering keeps the order of sequences, ties included; only the numbers change, and a
   * task pushed afterwards must be compared with the new ones. O(n), once per renumbering.
   */
  resequence(): void {
    for (let i = 0; i < this.tasks.length; i++) this.seq[i] = this.tasks[i].queueSeq;
  }

  /** The first task whose sort keys, as kept here, differ from its own; undefined when all agree. For the state validator. */
  staleEntry(): TaskState | undefined {
    return this.tasks.find(
      (task, i) => this.rank[i] !== task.userRank || this.seq[i] !== task.queueSeq || this.generation[i] !== task.generation,
    );
  }

  *[Symbol.iterator](): IterableIterator<TaskState> {
    yield* this.tasks;
  }

  private grow(): void {
    const grown = (keys: Float64Array) => {
      const bigger = new Float64Array(keys.length * 2);
      bigger.set(keys);
      return bigger;
    };
    this.rank = grown(this.rank);
    this.seq = grown(this.seq);
    this.generation = grown(this.generation);
  }

  /** `comparePriority(tasks[i], tasks[j]) < 0`, read from the key arrays. */
  private less(i: number, j: number): boolean {
    const { rank, seq, generation } = this;
    if (rank[i] !== rank[j]) return rank[i] < rank[j];
    if (seq[i] !== seq[j]) return seq[i] < seq[j];
    return generation[i] < generation[j];
  }

  private removeAt(index: number): void {
    const tasks = this.tasks;
    const removed = tasks[index];
    const lastIndex = tasks.length - 1;
    const last = tasks.pop()!;
    removed.heapIndex = -1;
    if (index < lastIndex) {
      this.place(index, last, this.rank[lastIndex], this.seq[lastIndex], this.generation[lastIndex]);
      this.down(index);
      this.up(last.heapIndex);
    }
  }

  private place(index: number, task: TaskState, rank: number, seq: number, generation: number): void {
    this.tasks[index] = task;
    this.rank[index] = rank;
    this.seq[index] = seq;
    this.generation[index] = generation;
    task.heapIndex = index;
  }

  private swap(i: number, j: number): void {
    const task = this.tasks[i];
    const rank = this.rank[i];
    const seq = this.seq[i];
    const generation = this.generation[i];
    this.place(i, this.tasks[j], this.rank[j], this.seq[j], this.generation[j]);
    this.place(j, task, rank, seq, generation);
  }

  private up(index: number): void {
    while (index > 0) {
      const parent = (index - 1) >> 1;
      if (!this.less(index, parent)) break;
      this.swap(index, parent);
      index = parent;
    }
  }

  private down(index: number): void {
    const n = this.tasks.length;
    for (;;) {
      let child = 2 * index + 1;
      if (child >= n) break;
      if (child + 1 < n && this.less(child + 1, child)) child++;
      if (!this.less(child, index)) break;
      this.swap(index, child);
      index = child;
    }
  }
}
