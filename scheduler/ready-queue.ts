import { comparePriority, type TaskState } from "./task-state.js";

/**
 * Ready tasks waiting in the scheduler for a worker with room, highest priority first. A binary heap
 * that records each task's position (`heapIndex`), so a task leaving the queue early (cancelled, or an
 * input lost) is removed in O(log n) rather than searched for.
 */
export class ReadyQueue {
  private readonly heap: TaskState[] = [];

  get size(): number {
    return this.heap.length;
  }

  peek(): TaskState | undefined {
    return this.heap[0];
  }

  push(task: TaskState): void {
    task.heapIndex = this.heap.length;
    this.heap.push(task);
    this.up(task.heapIndex);
  }

  pop(): TaskState | undefined {
    const top = this.heap[0];
    if (top !== undefined) this.removeAt(0);
    return top;
  }

  remove(task: TaskState): void {
    if (task.heapIndex >= 0) this.removeAt(task.heapIndex);
  }

  has(task: TaskState): boolean {
    return task.heapIndex >= 0 && this.heap[task.heapIndex] === task;
  }

  *[Symbol.iterator](): IterableIterator<TaskState> {
    yield* this.heap;
  }

  private removeAt(index: number): void {
    const heap = this.heap;
    const removed = heap[index];
    const last = heap.pop()!;
    removed.heapIndex = -1;
    if (index < heap.length) {
      heap[index] = last;
      last.heapIndex = index;
      this.down(index);
      this.up(last.heapIndex);
    }
  }

  private up(index: number): void {
    const heap = this.heap;
    const task = heap[index];
    while (index > 0) {
      const parent = (index - 1) >> 1;
      if (comparePriority(task, heap[parent]) >= 0) break;
      heap[index] = heap[parent];
      heap[index].heapIndex = index;
      index = parent;
    }
    heap[index] = task;
    task.heapIndex = index;
  }

  private down(index: number): void {
    const heap = this.heap;
    const n = heap.length;
    const task = heap[index];
    for (;;) {
      let child = 2 * index + 1;
      if (child >= n) break;
      if (child + 1 < n && comparePriority(heap[child + 1], heap[child]) < 0) child++;
      if (comparePriority(heap[child], task) >= 0) break;
      heap[index] = heap[child];
      heap[index].heapIndex = index;
      index = child;
    }
    heap[index] = task;
    task.heapIndex = index;
  }
}
