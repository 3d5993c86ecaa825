import type { Command, Option } from 'commander';
import { commandsOf } from '../cli/help.js';
import { UsageError } from '../errors.js';

/**
 * `spanel completion bash|zsh|fish`: a completion script written from the command tree itself,
 * so a command or option added later is completed without touching this file.
 */
export const SHELLS = ['bash', 'zsh', 'fish'] as const;

interface Node {
  path: string;
  subcommands: { name: string; description: string }[];
  options: { flags: string[]; description: string; takesValue: boolean }[];
}

export function completionScript(shell: string, program: Command): string {
  const nodes = tree(program);
  if (shell === 'bash') return bash(nodes);
  if (shell === 'zsh') return zsh(nodes);
  if (shell === 'fish') return fish(nodes);
  throw new UsageError(`unknown shell ${JSON.stringify(shell)}: expected bash, zsh or fish`);
}

function tree(program: Command): Node[] {
  const globals = (program.options as readonly Option[]).filter((o) => o.long !== '--version');
  return commandsOf(program).map(([path, cmd]) => ({
    path,
    subcommands: cmd.commands.filter((c) => c.name() !== 'help').map((c) => ({ name: c.name(), description: c.description() })),
    options: [...(cmd.options as readonly Option[]), ...(path === '' ? [] : globals)]
      .concat([{ long: '--help', short: '-h', description: 'show help', required: false, optional: false } as Option])
      .filter((o, i, all) => all.findIndex((x) => x.long === o.long) === i)
      .map((o) => ({
        flags: [o.long, o.short].filter((f): f is string => Boolean(f)),
        description: o.description,
        takesValue: o.required || o.optional,
      })),
  }));
}

function bash(nodes: Node[]): string {
  const paths = nodes.map((n) => n.path).filter((p) => p !== '');
  const cases = nodes.map((n) => {
    const words = [...n.subcommands.map((s) => s.name), ...n.options.flatMap((o) => o.flags.filter((f) => f.startsWith('--')))];
    if (n.path === 'completion') words.unshift(...SHELLS);
    return `    ${quoteCase(n.path)}) words=${shellQuote(words.join(' '))} ;;`;
  });
  const valued = [...new Set(nodes.flatMap((n) => n.options.filter((o) => o.takesValue).flatMap((o) => o.flags)))];
  return `# bash completion for spanel (spanel completion bash)
_spanel_completion() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" prev="\${COMP_WORDS[COMP_CWORD-1]}" path="" next i w words
  case "$prev" in
    ${valued.join('|')}) COMPREPLY=(); return 0 ;;
  esac
  for ((i = 1; i < COMP_CWORD; i++)); do
    w="\${COMP_WORDS[i]}"
    next="\${path:+$path }$w"
    case "$next" in
      ${paths.map(quoteCase).join('|')}) path="$next" ;;
    esac
  done
  case "$path" in
${cases.join('\n')}
    *) words="" ;;
  esac
  COMPREPLY=($(compgen -W "$words" -- "$cur"))
}
complete -o default -F _spanel_completion spanel
`;
}

/** zsh runs the bash function through its bashcompinit layer: one definition, two shells. */
function zsh(nodes: Node[]): string {
  return `#compdef spanel
# zsh completion for spanel (spanel completion zsh)
autoload -U +X bashcompinit && bashcompinit
${bash(nodes).replace(/^# bash completion.*\n/, '')}`;
}

function fish(nodes: Node[]): string {
  const lines = ['# fish completion for spanel (spanel completion fish)', 'complete -c spanel -f'];
  for (const n of nodes) {
    const words = n.path === '' ? [] : n.path.split(' ');
    const children = n.subcommands.map((s) => s.name);
    const at = condition(words, children);
    for (const s of n.subcommands) lines.push(`complete -c spanel -n ${shellQuote(at)} -a ${shellQuote(s.name)} -d ${shellQuote(s.description)}`);
    if (n.path === 'completion') lines.push(`complete -c spanel -n ${shellQuote(at)} -a ${shellQuote(SHELLS.join(' '))}`);
    for (const o of n.options) {
      const long = o.flags.find((f) => f.startsWith('--'))?.slice(2);
      const short = o.flags.find((f) => /^-[^-]/.test(f))?.slice(1);
      if (!long) continue;
      lines.push(
        `complete -c spanel -n ${shellQuote(at)} -l ${long}${short ? ` -s ${short}` : ''}${o.takesValue ? ' -r -F' : ''} -d ${shellQuote(o.description)}`,
      );
    }
  }
  return `${lines.join('\n')}\n`;
}

/** fish: at this command (its last word seen), and none of its subcommands typed yet. */
function condition(words: string[], children: string[]): string {
  if (words.length === 0) return '__fish_use_subcommand';
  const here = `__fish_seen_subcommand_from ${words[words.length - 1]}`;
  return children.length ? `${here}; and not __fish_seen_subcommand_from ${children.join(' ')}` : here;
}

function quoteCase(path: string): string {
  return path === '' ? '""' : path.replace(/ /g, '\\ ');
}

function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}
