import { describe, expect, it } from "vitest";
import { ClientPresence } from "../../scheduler/client-presence.js";

/** A presence on a clock the test moves, and the jobs it gave up on. */
function presenceAt(): { presence: ClientPresence; gone: string[]; advance: (ms: number) => void } {
  let now = 0;
  const gone: string[] = [];
  const presence = new ClientPresence((jobId) => gone.push(jobId), () => now);
  return { presence, gone, advance: (ms) => (now += ms) };
}

describe("the presence of attached jobs' clients", () => {
  it("gives up on a job nobody has asked about for its clientGoneMs", () => {
    const { presence, gone, advance } = presenceAt();
    presence.watch("job-1", 1_000);
    advance(999);
    presence.check();
    expect(gone).toEqual([]);
    advance(1);
    presence.check();
    expect(gone).toEqual(["job-1"]);
    presence.stop();
  });

  it("keeps a job while a wait for it is open, however long, and counts from the end of the last one", () => {
    const { presence, gone, advance } = presenceAt();
    presence.watch("job-1", 1_000);
    const leave = presence.attend("job-1");
    advance(5_000);
    presence.check();
    expect(gone).toEqual([]);
    leave();
    advance(999);
    presence.check();
    expect(gone).toEqual([]);
    advance(1);
    presence.check();
    expect(gone).toEqual(["job-1"]);
    presence.stop();
  });

  it("counts a wait that began before the job ran again (a client back before the restarted scheduler ran its job)", () => {
    const { presence, gone, advance } = presenceAt();
    const leave = presence.attend("job-1");
    advance(10_000);
    presence.watch("job-1", 1_000);
    advance(5_000);
    presence.check();
    expect(gone).toEqual([]);
    leave();
    advance(1_000);
    presence.check();
    expect(gone).toEqual(["job-1"]);
    presence.stop();
  });

  it("never gives up on a job that ended, nor on one that is not attached", () => {
    const { presence, gone, advance } = presenceAt();
    presence.watch("ended", 1_000);
    presence.unwatch("ended");
    presence.attend("detached")();
    advance(10_000);
    presence.check();
    expect(gone).toEqual([]);
    presence.stop();
  });
});
