import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Client } from "../../client/client.js";
import { isCollection } from "../../client/collection.js";
import { delayed } from "../../client/delayed.js";
import { task } from "../../client/task.js";
import { GraphError } from "../../graph/graph-error.js";
import { taskSpec } from "../../graph/task-spec.js";
import { inc } from "../fixtures/math-tasks.js";
import { Squares } from "../fixtures/squares-collection.js";

let calls = 0;
const countedSquare = task("test.collection.square", (x: number) => {
  calls++;
  return x * x;
});


let client: Client;
beforeAll(async () => {
  client = await Client.local({ executor: "sync" });
});
afterAll(() => client.close());

describe("collections: compute and persist", () => {
  it("recognizes values offering the collection protocol", () => {
    expect(isCollection(Squares.of(countedSquare.taskName, "sq-a", 2))).toBe(true);
    expect(isCollection(delayed(inc)(1))).toBe(false);
    expect(isCollection({})).toBe(false);
  });

  it("computes a collection into its finalized result", async () => {
    const [squares] = await client.compute(Squares.of(countedSquare.taskName, "sq-b", 4));
    expect(squares).toEqual([0, 1, 4, 9]);
  });

  it("runs work shared by collections computed together once, beside delayed and plain values", async () => {
    calls = 0;
    const [three, two, plusOne, plain] = await client.compute(Squares.of(countedSquare.taskName, "sq-c", 3), Squares.of(countedSquare.taskName, "sq-c", 2), delayed(inc)(1), "as is");
    expect(three).toEqual([0, 1, 4]);
    expect(two).toEqual([0, 1]);
    expect(plusOne).toBe(2);
    expect(plain).toBe("as is");
    expect(calls).toBe(3);
  });

  it("persists a collection so later graphs read its results instead of recomputing", async () => {
    const [held] = await client.persist(Squares.of(countedSquare.taskName, "sq-d", 3));
    calls = 0;
    const [again] = await client.compute(held);
    expect(again).toEqual([0, 1, 4]);
    expect(calls).toBe(0);
  });

  it("refuses two collections giving one key different tasks, naming the key", async () => {
    const one = Squares.of(countedSquare.taskName, "sq-e", 1);
    const other = new Squares("sq-e", 1, new Map([["sq-e-0", taskSpec("sq-e-0", countedSquare.taskName, [7])]]));
    const error = await client.compute(one, other).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(GraphError);
    expect((error as GraphError).keys).toEqual(["sq-e-0"]);
  });
});

