import type { CommandContext } from '../cli/context.js';
import { OperationError } from '../errors.js';

// Scaffolding until the issue that implements this command lands.
export const recoverHandler = async (_ctx: CommandContext): Promise<number> => {
  throw new OperationError('not implemented yet');
};
