// Public API of src/cli, re-exported by src/index.ts.
export {};
