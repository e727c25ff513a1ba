/**
 * Catching the agent's signals from its first instruction. The agent's own handlers can only be
 * installed once its modules are loaded and its configuration read; until then a
 * SIGHUP (systemd's ExecReload, sent as soon as the unit has started) or a SIGTERM would kill it
 * with the default action. The CLI installs a latch first thing; the agent takes over with its
 * own handlers, then replays what the latch caught.
 *
 * Node's own start-up, before any JavaScript runs, stays uncovered: no program can catch a signal
 * there.
 */

/**
 * The signals the agent acts on. SIGHUP is latched last: whoever sees it caught (SigCgt in
 * /proc/PID/status; Node itself catches SIGTERM from its start) knows the other two are too.
 */
export const AGENT_SIGNALS = ['SIGTERM', 'SIGINT', 'SIGHUP'] as const;
export type AgentSignal = (typeof AGENT_SIGNALS)[number];

/** Signals caught before their real handlers existed. */
export interface SignalLatch {
  /**
   * Stops latching and returns what was caught, each signal once, in order of first arrival. Call it after installing
   * the real handlers, so that no signal falls between the two. Later calls return [].
   */
  release(): AgentSignal[];
}

/** Starts catching AGENT_SIGNALS now: from here on they no longer kill the process. */
export function latchSignals(): SignalLatch {
  const caught: AgentSignal[] = [];
  const handlers = AGENT_SIGNALS.map((signal) => {
    // Each signal once: a burst of them means the same as one, and cannot grow the list.
    const handler = (): void => {
      if (!caught.includes(signal)) caught.push(signal);
    };
    process.on(signal, handler);
    return [signal, handler] as const;
  });
  let released = false;
  return {
    release() {
      if (released) return [];
      released = true;
      for (const [signal, handler] of handlers) process.off(signal, handler);
      return caught.splice(0);
    },
  };
}
