// Public API of src/acceleration, re-exported by src/index.ts.
export {};
