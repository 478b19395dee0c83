// Types for setup.js (`npm run setup`).

/** Debian packages that provide Jupyter for `/usr/bin/python3`. */
export const APT_PACKAGES: string[];

/** Decides how to get Jupyter when no suitable Python is found. Pure. */
export function planJupyterInstall(facts: {
  platform: string;
  /** Content of /etc/os-release, when readable. */
  osRelease?: string;
  isRoot: boolean;
  hasConda: boolean;
}): { action: 'apt'; commands: string[][] } | { action: 'instructions'; message: string };

/**
 * Chooses this checkout's kernel name and whether it takes the alias 'transferlab'. Pure.
 * @throws {Error} when `requested` belongs to another checkout and `force` is not set.
 */
export function planKernelNames(facts: {
  root: string;
  /** --name; default: derived from the folder. */
  requested?: string;
  force?: boolean;
  /** --default: take the alias even from another checkout. */
  claimAlias?: boolean;
  /** Registered kernel names → the checkout each belongs to (null: not a transferlab kernel). */
  owners: Record<string, string | null>;
  exists: (dir: string) => boolean;
}): { name: string; alias: boolean; notes: string[] };

/** Parses setup's arguments. */
export function parseArgs(argv: string[]): {
  quiet: boolean;
  verify: boolean;
  force: boolean;
  claimAlias: boolean;
  list: boolean;
  gitFilter: boolean;
  remove: boolean;
  name?: string;
  removeName?: string;
  help: boolean;
};

/**
 * Configures the git clean filter 'transferlab-strip' (see .gitattributes) in `repoDir`, running
 * `<root>/bin/transferlab.js strip --stdin`; returns the clean command.
 */
export function installGitFilter(repoDir: string, root?: string): string;
