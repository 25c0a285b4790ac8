import { Redis } from "ioredis";

/**
 * A connection for weft's processes: commands wait through reconnections instead of failing after a
 * few retries (a scheduler or worker must ride out a Redis restart), and connection errors go to
 * `onError` rather than to ioredis's "Unhandled error event" lines on stderr. `name`, when given, is
 * the connection's name in Redis (`CLIENT SETNAME`), so that `CLIENT LIST` shows whose it is.
 */
export function connectRedis(url: string, onError?: (error: Error) => void, name?: string): Redis {
  const redis = new Redis(url, { maxRetriesPerRequest: null, ...(name === undefined ? {} : { connectionName: name }) });
  redis.on("error", (error: Error) => onError?.(error));
  return redis;
}
