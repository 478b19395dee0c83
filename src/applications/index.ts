// Public API of src/applications, re-exported by src/index.ts. Filled in by the applications work.
export {};
