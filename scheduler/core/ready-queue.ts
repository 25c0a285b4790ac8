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
  /** The keys of `comparePriority`, by heap position: negated user priority, submission, graph order. */
  private rank = new Float64Array(64);
  private generation = new Float64Array(64);
  private order = new Float64Array(64);

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
    this.place(index, task, task.userRank, task.generation, task.order);
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
    this.generation = grown(this.generation);
    this.order = grown(this.order);
  }

  /** `comparePriority(tasks[i], tasks[j]) < 0`, read from the key arrays. */
  private less(i: number, j: number): boolean {
    const { rank, generation, order } = this;
    if (rank[i] !== rank[j]) return rank[i] < rank[j];
    if (generation[i] !== generation[j]) return generation[i] < generation[j];
    return order[i] < order[j];
  }

  private removeAt(index: number): void {
    const tasks = this.tasks;
    const removed = tasks[index];
    const lastIndex = tasks.length - 1;
    const last = tasks.pop()!;
    removed.heapIndex = -1;
    if (index < lastIndex) {
      this.place(index, last, this.rank[lastIndex], this.generation[lastIndex], this.order[lastIndex]);
      this.down(index);
      this.up(last.heapIndex);
    }
  }

  private place(index: number, task: TaskState, rank: number, generation: number, order: number): void {
    this.tasks[index] = task;
    this.rank[index] = rank;
    this.generation[index] = generation;
    this.order[index] = order;
    task.heapIndex = index;
  }

  private swap(i: number, j: number): void {
    const task = this.tasks[i];
    const rank = this.rank[i];
    const generation = this.generation[i];
    const order = this.order[i];
    this.place(i, this.tasks[j], this.rank[j], this.generation[j], this.order[j]);
    this.place(j, task, rank, generation, order);
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
