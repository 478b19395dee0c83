import { TransferlabError } from '../util/errors';

/** A `--param` value or name is invalid, or the notebook cannot take parameters. */
export class ParameterError extends TransferlabError {
  /** The parameter concerned, when there is one. */
  readonly parameter?: string;
  /** The notebook concerned, when known. */
  readonly notebook?: string;

  constructor(message: string, details: { parameter?: string; notebook?: string } = {}) {
    super(message);
    this.parameter = details.parameter;
    this.notebook = details.notebook;
  }
}
