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
