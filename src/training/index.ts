// Public API of src/training, re-exported by src/index.ts. Filled in by the training work.
export {};
