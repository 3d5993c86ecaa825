import type { CommandContext } from '../cli/context.js';
import { renderEnvExample } from '../config/env-example.js';
import { SETTINGS, type SettingName } from '../config/settings.js';
import { maskSecrets } from '../util/mask.js';

/** `spanel config`: the effective settings (passwords masked), or `--example` for .env.example. */
export async function configHandler(ctx: CommandContext, _args: string[], opts: Record<string, unknown>): Promise<number> {
  if (opts.example) {
    ctx.io.stdout.write(renderEnvExample());
    return 0;
  }
  const rows = (Object.keys(SETTINGS) as SettingName[]).map((key) => ({
    env: SETTINGS[key].env,
    value: maskSecrets(JSON.stringify(ctx.settings[key]) ?? 'null'),
  }));
  if (ctx.opts.json) ctx.io.stdout.write(JSON.stringify(Object.fromEntries(rows.map((r) => [r.env, JSON.parse(r.value)]))) + '\n');
  else for (const r of rows) ctx.say(`${r.env.padEnd(28)} ${r.value}`);
  return 0;
}
