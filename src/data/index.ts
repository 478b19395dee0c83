// Public API of src/data, re-exported by src/index.ts. Filled in by the data work.
export {};
