import type { Command } from 'commander';

/**
 * Examples for the commands and groups whose declaration in cli.ts does not carry its own, keyed
 * by the command's path as typed after `spanel` ("" is spanel itself). A test asks every command
 * for --help and wants an example, so a new command needs a line here or an `Example` of its own.
 */
export const EXAMPLES: Record<string, string[]> = {
  '': [
    'spanel demo                                       # every job on a throw-away SQLite panel',
    'spanel --env-file /etc/spanel/spanel.env doctor   # check a real installation',
    'spanel job daily --dry-run                        # what tonight\'s run would change',
  ],
  job: ['spanel job check --dry-run', 'spanel --env-file /etc/spanel/spanel.env job daily'],
  payment: ['spanel payment confirm 1234 --dry-run', 'spanel payment --help'],
  referral: ['spanel referral recover 5678 --dry-run'],
  user: ['spanel user show alice@example.com', 'spanel user restore 1234 --dry-run'],
  completion: [
    'spanel completion bash > /etc/bash_completion.d/spanel',
    'spanel completion zsh > "${fpath[1]}/_spanel"',
    'spanel completion fish > ~/.config/fish/completions/spanel.fish',
  ],
};

/** Adds the examples above to every command that has an entry and lacks its own. */
export function addExamples(program: Command): void {
  for (const [path, cmd] of commandsOf(program)) {
    const lines = EXAMPLES[path];
    if (!lines) continue;
    cmd.addHelpText('after', `\n${lines.length > 1 ? 'Examples' : 'Example'}:\n${lines.map((l) => `  $ ${l}`).join('\n')}`);
  }
}

/** Every command below `program` with its path ("job daily"), commander's own `help` left out. */
export function commandsOf(program: Command, prefix = ''): [string, Command][] {
  const out: [string, Command][] = prefix === '' ? [['', program]] : [];
  for (const c of program.commands) {
    if (c.name() === 'help') continue;
    const path = prefix ? `${prefix} ${c.name()}` : c.name();
    out.push([path, c], ...commandsOf(c, path).filter(([p]) => p !== ''));
  }
  return out;
}
