import type { Redis } from "ioredis";
import { redisKeys } from "../../protocol/redis/redis-keys.js";

/** The data token of tests that start data servers and clients by hand. */
export const TEST_DATA_TOKEN = "test-data-token-0123456789abcdef";

/** The data token a cluster settled on in Redis (see `protocol/redis/data-token.ts`), as a peer of the cluster would know it. */
export async function clusterDataToken(redis: Redis, prefix: string): Promise<string> {
  const token = await redis.get(redisKeys(prefix).dataToken);
  if (token === null) throw new Error(`no data token under prefix ${prefix}: no scheduler or worker started there`);
  return token;
}
