import { createServer, connect, type Server, type Socket } from 'node:net';

/**
 * A TCP proxy in front of MariaDB that can lose a COMMIT, the way a network fault or a dying
 * proxy does:
 * - `close-on-commit`: when the client sends COMMIT (a COM_QUERY packet, command byte 0x03, with
 *   the text COMMIT), both sides are closed and the COMMIT never reaches the server;
 * - `drop-commit-reply`: the COMMIT is forwarded, the server's answer is swallowed, and the
 *   connection is closed once it arrives: the server committed, the client never hears so.
 * - `close-on-commit-then-refuse`: as close-on-commit, and every later connection is refused
 *   (until `accept()`), so nobody can find out what happened.
 * A fault fires once (`arm()` again for another); every other byte passes through untouched.
 */
export type CommitFault = 'close-on-commit' | 'drop-commit-reply' | 'close-on-commit-then-refuse';

export interface CommitProxy {
  url(database: string): string;
  port: number;
  arm(fault: CommitFault): void;
  /** Accept connections again after close-on-commit-then-refuse. */
  accept(): void;
  /** How many faults fired since start. */
  fired(): number;
  close(): Promise<void>;
}

export async function startCommitProxy(target: { host: string; port: number }, listenPort: number): Promise<CommitProxy> {
  let armed: CommitFault | null = null;
  let fired = 0;
  let refusing = false;
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    if (refusing) return void client.destroy();
    const upstream = connect(target.port, target.host);
    sockets.add(client).add(upstream);
    let droppingReply = false;
    const endBoth = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('close', () => sockets.delete(client) && upstream.destroy());
    upstream.on('close', () => sockets.delete(upstream) && client.destroy());
    client.on('error', endBoth);
    upstream.on('error', endBoth);
    client.on('data', (chunk: Buffer) => {
      if (armed && isCommit(chunk)) {
        const fault = armed;
        armed = null;
        fired++;
        if (fault === 'close-on-commit-then-refuse') refusing = true;
        if (fault !== 'drop-commit-reply') return endBoth();
        droppingReply = true;
      }
      upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => {
      if (droppingReply) return endBoth();
      client.write(chunk);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(listenPort, '127.0.0.1', () => resolve());
  });
  return {
    port: listenPort,
    url: (database) => `mysql://root@127.0.0.1:${listenPort}/${database}`,
    arm: (fault) => void (armed = fault),
    fired: () => fired,
    accept: () => void (refusing = false),
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/**
 * One MySQL packet: 3-byte length, 1-byte sequence id, then the payload; COM_QUERY's payload is
 * 0x03 followed by the statement text. knex sends "COMMIT;".
 */
function isCommit(chunk: Buffer): boolean {
  if (chunk.length < 5 || chunk[4] !== 0x03) return false;
  const length = chunk.readUIntLE(0, 3);
  const text = chunk.subarray(5, 4 + length).toString('utf8').trim().replace(/;$/, '').trim();
  return /^COMMIT$/i.test(text);
}
