// Public API of src/plots, re-exported by src/index.ts. Filled in by the plots work.
export {};
