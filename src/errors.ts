/**
 * Errors a user can cause carry an exit code and a one-line message saying what to do;
 * anything else reaching the top is a bug and is printed with its stack.
 */
export const EXIT = {
  OK: 0,
  FAILED: 1,
  USAGE: 2,
  LOCKED: 75,
  SIGINT: 130,
  SIGTERM: 143,
} as const;

export class SpanelError extends Error {
  constructor(
    message: string,
    readonly exitCode: number = EXIT.FAILED,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** Bad arguments or input values: exit 2, nothing changed. */
export class UsageError extends SpanelError {
  constructor(message: string) {
    super(message, EXIT.USAGE);
  }
}

/** Every configuration problem found at start, reported together: exit 2. */
export class ConfigError extends SpanelError {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`, EXIT.USAGE);
  }
}

/** Another run of the same job holds the overlap lock: exit 75 (EX_TEMPFAIL), nothing done. */
export class LockHeldError extends SpanelError {
  constructor(readonly lockName: string) {
    super(`skipped: another run holds the lock "${lockName}"`, EXIT.LOCKED);
  }
}

/** A failure the operator can act on (unreachable service, refused operation): exit 1. */
export class OperationError extends SpanelError {
  constructor(message: string) {
    super(message, EXIT.FAILED);
  }
}

/** The run was interrupted by a signal; it was rolled back. */
export class InterruptedError extends SpanelError {
  constructor(
    readonly signal: NodeJS.Signals,
    message = `interrupted by ${signal}: rolled back`,
  ) {
    super(message, signal === 'SIGINT' ? EXIT.SIGINT : EXIT.SIGTERM);
  }
}

export function isUserError(err: unknown): err is SpanelError {
  return err instanceof SpanelError;
}
