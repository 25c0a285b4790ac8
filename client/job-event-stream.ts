import type { JobEvent } from "../protocol/job-api.js";

/**
 * Reads a job's Server-Sent Events (`GET /v1/jobs/:id/events`) from a response body: each event's
 * `data:` lines joined and parsed as a {@link JobEvent}, until the `done` event.
 */
export async function* readJobEvents(body: AsyncIterable<Uint8Array>): AsyncGenerator<JobEvent> {
  const decoder = new TextDecoder();
  let buffer = "";
  for await (const chunk of body) {
    buffer += decoder.decode(chunk, { stream: true });
    let end: number;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const data = block
        .split("\n")
        .filter((line) => line.startsWith("data: "))
        .map((line) => line.slice(6))
        .join("\n");
      if (data === "") continue;
      const event = JSON.parse(data) as JobEvent;
      yield event;
      if (event.type === "done") return;
    }
  }
}
