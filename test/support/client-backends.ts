import { Client } from "../../client/client.js";
import { TEST_TOKEN, type ApiCluster, type useApiCluster } from "../scheduler/http/api-cluster.js";

/** A client over one backend, and the cluster it runs on (none for a local client). */
export interface BackendSubject {
  readonly client: Client;
  readonly api?: ApiCluster;
}

/** Starts a client over one backend, and its cluster. */
export type StartBackend = () => Promise<BackendSubject>;

/**
 * Every way to make a client, for `describe.each`: local (`Client.local`, sync executor), attached to
 * a cluster's scheduler in this process (`Client.attach`), and connected over HTTP (`Client.connect`).
 * The clusters come from the test file's `useApiCluster`, started with `options`.
 *
 * @example
 * ```ts
 * describe.each(clientBackends(cluster))("a Client %s", (_name, start) => { ... });
 * ```
 */
export function clientBackends(cluster: ReturnType<typeof useApiCluster>, options?: Parameters<ReturnType<typeof useApiCluster>>[0]): [string, StartBackend][] {
  return [
    ["local (Client.local)", async () => ({ client: await Client.local({ executor: "sync" }) })],
    [
      "attached to a cluster's scheduler in this process (Client.attach)",
      async () => {
        const api = await cluster(options);
        return { client: Client.attach(api.scheduler.scheduler), api };
      },
    ],
    [
      "connected over HTTP (Client.connect)",
      async () => {
        const api = await cluster(options);
        return { client: await Client.connect(api.url, { token: TEST_TOKEN }), api };
      },
    ],
  ];
}

/** Runs `body` with a client from `start`, and closes the client after it, also when it fails. */
export async function withClient(start: StartBackend, body: (subject: BackendSubject) => Promise<void>): Promise<void> {
  const subject = await start();
  try {
    await body(subject);
  } finally {
    await subject.client.close();
  }
}
