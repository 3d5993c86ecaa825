import type { Logger } from 'pino';
import { maskSecrets } from './util/mask.js';

/**
 * pino JSON logs on stderr (stdout is the command's report). Every line is masked as a whole,
 * after serialisation: masking the log object instead (a JSON round-trip) would turn an Error
 * into {} and lose its message and stack.
 */
export async function createLogger(level: string, stream: NodeJS.WritableStream = process.stderr): Promise<Logger> {
  const { pino } = await import('pino');
  return pino(
    {
      level,
      base: { pid: process.pid, name: 'spanel' },
      hooks: { streamWrite: maskSecrets },
      serializers: { err: pino.stdSerializers.err, error: pino.stdSerializers.err },
    },
    stream as unknown as import('pino').DestinationStream,
  );
}
