import type { Logger } from 'pino';
import { maskSecrets } from './util/mask.js';

/** pino JSON logs on stderr (stdout is the command's report). Every message is masked. */
export async function createLogger(level: string, stream: NodeJS.WritableStream = process.stderr): Promise<Logger> {
  const { pino } = await import('pino');
  return pino(
    {
      level,
      base: { pid: process.pid, name: 'spanel' },
      hooks: {
        logMethod(args, method) {
          method.apply(this, args.map((a) => (typeof a === 'string' ? maskSecrets(a) : a)) as Parameters<typeof method>);
        },
      },
      formatters: { log: (obj) => JSON.parse(maskSecrets(JSON.stringify(obj))) as Record<string, unknown> },
      serializers: { err: (e: Error) => ({ type: e?.name, message: maskSecrets(String(e?.message)), stack: e?.stack ? maskSecrets(e.stack) : undefined }) },
    },
    stream as unknown as import('pino').DestinationStream,
  );
}
