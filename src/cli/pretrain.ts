// `transferlab pretrain`: builds the 'phantom-source' weights (PhantomNet trained on the phantom's
// source task) into weights/phantom-source, or into --out. Thin over pretrainPhantomSource.
import type { CliIO } from './io';

/** Usage lines of `transferlab pretrain` (part of `transferlab --help`). */
export const PRETRAIN_USAGE = `Options of pretrain (defaults: what produced the bundled weights):
  --out dir                folder for the weights and manifest (default: the package's weights/phantom-source)
  --seed n                 seed of the source slices, initialisation, shuffle and dropout
  --train-images n         source slices to train on
  --held-out n             fixed held-out slices scored into the manifest
  --epochs n               epochs
  --batch-size n           batch size
`;

const FLAGS: Record<string, 'seed' | 'trainImages' | 'heldOutImages' | 'epochs' | 'batchSize'> = {
  '--seed': 'seed',
  '--train-images': 'trainImages',
  '--held-out': 'heldOutImages',
  '--epochs': 'epochs',
  '--batch-size': 'batchSize',
};

/**
 * Runs `transferlab pretrain [options]`.
 * @returns the exit status: 0 done, 2 usage error
 */
export async function pretrainCommand(args: string[], io: CliIO): Promise<number> {
  const options: { outDir?: string; seed?: number; trainImages?: number; heldOutImages?: number; epochs?: number; batchSize?: number } = {};
  for (let i = 0; i < args.length; i++) {
    const flag = args[i];
    const value = args[i + 1];
    if (flag === '--out') {
      if (value === undefined) return usage(io, `Expected a folder after --out.`);
      options.outDir = value;
      i++;
    } else if (flag in FLAGS) {
      const n = Number(value);
      if (value === undefined || !Number.isInteger(n) || n < (flag === '--seed' ? 0 : 1)) return usage(io, `Expected ${flag === '--seed' ? 'a non-negative' : 'a positive'} integer after ${flag} but received ${value ?? 'nothing'}.`);
      options[FLAGS[flag]] = n;
      i++;
    } else {
      return usage(io, `Unknown option ${flag} for transferlab pretrain.`);
    }
  }
  // Loaded here, not at the top: `transferlab run` should not pay for TF.js.
  const { initBackend } = await import('../runtime/backend');
  const { pretrainPhantomSource } = await import('../training/pretrain');
  await initBackend();
  const command = ['transferlab', 'pretrain', ...args].join(' ');
  const manifest = await pretrainPhantomSource({ ...options, command });
  io.stdout(`Source-task held-out accuracy ${(manifest.heldOutAccuracy * 100).toFixed(1)}% (${manifest.pretraining.heldOutImages} slices); ${manifest.pretraining.seconds} s.\n`);
  return 0;
}

function usage(io: CliIO, message: string): number {
  io.stderr(`${message}\n\n${PRETRAIN_USAGE}`);
  return 2;
}
