/**
 * SIGTERM and SIGINT, caught from the first moment: main.ts imports this module before any other,
 * so a stop request during start-up (loading modules, opening the database) is remembered and
 * honoured as a clean stop (exit 0), never the default kill.
 */
const controller = new AbortController();
let received: string | undefined;

function onSignal(name: string): void {
  if (received !== undefined) return;
  received = name;
  controller.abort();
}

process.on("SIGTERM", () => onSignal("SIGTERM"));
process.on("SIGINT", () => onSignal("SIGINT"));

/** Aborts on the first SIGTERM or SIGINT. */
export const stopSignal: AbortSignal = controller.signal;

/** The signal received, if any. */
export function stopSignalName(): string | undefined {
  return received;
}
