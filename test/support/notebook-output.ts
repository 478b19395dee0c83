// The parts of an executed notebook (nbformat 4) that the notebook tests read.

/** One output of a code cell. */
export interface Output { output_type: string; name?: string; text?: string | string[]; data?: Record<string, unknown> }

/** One cell. */
export interface Cell { cell_type: string; source: string | string[]; outputs?: Output[]; execution_count?: number | null; metadata?: { tags?: string[] } }

/** A stream output's text (nbformat stores it as a string or a list of lines). */
export const textOf = (o: Output): string => [o.text ?? ''].flat().join('');
