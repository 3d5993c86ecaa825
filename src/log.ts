import type { Logger } from 'pino';
import { prettyLogLine } from './output/terminal.js';
import { maskSecrets } from './util/mask.js';

/**
 * pino JSON logs on stderr (stdout is the command's report). Every line is masked as a whole,
 * after serialisation: masking the log object instead (a JSON round-trip) would turn an Error
 * into {} and lose its message and stack.
 */
export async function createLogger(level: string, stream: NodeJS.WritableStream = process.stderr, pretty?: PrettyOptions): Promise<Logger> {
  const { pino } = await import('pino');
  const destination = pretty ? prettyDestination(stream, pretty) : stream;
  return pino(
    {
      level,
      base: { pid: process.pid, name: 'spanel' },
      hooks: { streamWrite: maskSecrets },
      serializers: { err: pino.stdSerializers.err, error: pino.stdSerializers.err },
    },
    destination as unknown as import('pino').DestinationStream,
  );
}

/** At a terminal: one readable line per log record instead of JSON (src/output/terminal.ts). */
export interface PrettyOptions {
  colour?: (level: number, text: string) => string;
  /** Erases a progress line on the same terminal before the log line is written. */
  beforeWrite?: () => void;
}

function prettyDestination(stream: NodeJS.WritableStream, o: PrettyOptions): { write(line: string): boolean } {
  return {
    write(line) {
      o.beforeWrite?.();
      return stream.write(prettyLogLine(line, o.colour));
    },
  };
}
