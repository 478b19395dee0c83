// Public API of src/preprocessing, re-exported by src/index.ts. Filled in by the preprocessing work.
export {};
