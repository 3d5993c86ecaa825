import { reportedUpdate } from '../../runner/changes.js';
import type { Step } from '../../runner/types.js';

/** SPEC §3 daily step 2: a node silent for longer than NODE_HEARTBEAT_TIMEOUT is marked faulty. */
export const nodeHeartbeat: Step = {
  name: 'node-heartbeat',
  title: 'Node heartbeat',
  run: (ctx) =>
    reportedUpdate(ctx, {
      table: 'ss_node',
      where: (qb) =>
        qb.where('node_heartbeat', '<', ctx.clock.unix - ctx.settings.nodeHeartbeatTimeout).whereNot('type', 0),
      set: { type: 0 },
      columns: ['type'],
    }),
};
