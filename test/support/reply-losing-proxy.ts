import { createServer, connect, type Socket } from "node:net";

/**
 * A TCP proxy in front of a Redis server that can lose one reply, as a Redis crash does between
 * running a command and sending its reply: the command reaches Redis and runs, its reply is dropped
 * and the client's connection closed. ioredis then reconnects (through the proxy again) and sends
 * the unanswered command once more, which is what a control-plane call must survive.
 */
export interface ReplyLosingProxy {
  /** `redis://127.0.0.1:<port>` of the proxy. */
  readonly url: string;
  /**
   * Loses the reply to the next command any client sends through the proxy. With `meanwhile`, the
   * client's reconnection waits until `meanwhile()` has run: what other clients did while Redis was
   * coming back, before the unanswered command is sent again.
   */
  loseNextReply(meanwhile?: () => Promise<void>): void;
  /** Replies lost so far. */
  readonly lost: number;
  /** Closes the proxy and every connection through it. */
  close(): Promise<void>;
}

/**
 * Starts a {@link ReplyLosingProxy} on a free port of 127.0.0.1, in front of the Redis at `port`.
 *
 * @example
 * ```ts
 * const proxy = await startReplyLosingProxy(server.port);
 * const plane = new ControlPlane(new Redis(proxy.url, { maxRetriesPerRequest: null }));
 * proxy.loseNextReply();
 * await plane.takeTasks("w1", 10); // runs twice in Redis, answers once
 * ```
 */
export async function startReplyLosingProxy(port: number): Promise<ReplyLosingProxy> {
  const sockets = new Set<Socket>();
  let armed = false;
  let lost = 0;
  let meanwhileOfLoss: (() => Promise<void>) | undefined;
  /** Until it settles, new connections wait (their data too): set when a reply is lost with a `meanwhile`. */
  let held: Promise<void> = Promise.resolve();
  const server = createServer(async (client) => {
    sockets.add(client);
    client.pause();
    await held;
    if (client.destroyed) return;
    const upstream = connect(port, "127.0.0.1");
    sockets.add(upstream);
    /** Set when this client sent the command whose reply is to be lost. */
    let doomed = false;
    const end = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on("data", (chunk: Buffer) => {
      if (armed) {
        armed = false;
        doomed = true;
      }
      upstream.write(chunk);
    });
    upstream.on("data", (chunk: Buffer) => {
      if (!doomed) {
        client.write(chunk);
        return;
      }
      // Redis ran the command and answered: the answer goes nowhere, and the connection with it.
      lost++;
      const meanwhile = meanwhileOfLoss;
      meanwhileOfLoss = undefined;
      if (meanwhile !== undefined) held = meanwhile();
      end();
    });
    for (const socket of [client, upstream]) {
      socket.on("error", end);
      socket.on("close", () => {
        sockets.delete(socket);
        end();
      });
    }
    client.resume();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  if (address === null || typeof address === "string") throw new Error("the proxy has no port");
  return {
    url: `redis://127.0.0.1:${address.port}`,
    loseNextReply: (meanwhile) => {
      armed = true;
      meanwhileOfLoss = meanwhile;
    },
    get lost() {
      return lost;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
