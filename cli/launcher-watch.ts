/** How often the parent process is checked, in ms. */
const CHECK_INTERVAL_MS = 500;

/**
 * When `npm run` (or `npx`) started this weft, stops it, as SIGTERM does, once that launcher is gone.
 * npm runs a script through `sh -c`, and a shell killed with SIGTERM dies without passing the signal
 * on, which would leave `weft worker` running unseen after `npm run weft -- worker` was stopped. A
 * weft started otherwise (from a terminal, a service manager, `nohup … &`) is left alone: outliving its
 * parent may be what was asked for.
 *
 * @example
 * ```ts
 * stopWhenLauncherGone(); // at the start of the CLI; does nothing unless npm started it
 * ```
 */
export function stopWhenLauncherGone(): void {
  if (process.env.npm_lifecycle_event === undefined && process.env.npm_command === undefined) return;
  const launcher = process.ppid;
  const timer = setInterval(() => {
    if (process.ppid === launcher) return;
    clearInterval(timer);
    process.stderr.write(`weft: the npm process that started it (pid ${launcher}) is gone; stopping\n`);
    process.kill(process.pid, "SIGTERM");
  }, CHECK_INTERVAL_MS);
  timer.unref();
}
