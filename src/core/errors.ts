/**
 * One error hierarchy. Every error Switchyard raises on purpose carries a stable `code`
 * (documented in docs/errors.md; a test checks each code is documented).
 */
export const ERROR_CODES = {
  data_invalid: 'A dataset file is malformed: the message names file, line and field.',
  data_not_found: 'A dataset folder or file does not exist.',
  import_invalid: 'An import source (RouterBench CSV, production log) is malformed.',
  router_unknown: 'No router is registered under that name.',
  router_not_fitted: 'A router was asked to route or save before `fit`.',
  unknown_model: 'A model id is not one the router or dataset knows.',
  no_candidates: 'Every candidate model was excluded for a prompt.',
  artifact_invalid: 'A router artifact is malformed, of another version, or of another kind.',
  invalid_argument: 'A CLI flag or API argument is missing or out of range.',
} as const;
export type ErrorCode = keyof typeof ERROR_CODES;

export class SwitchyardError extends Error {
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SwitchyardError';
    this.code = code;
  }
}

/** A data error that points at the exact place: `file:line: field: problem`. */
export class DataError extends SwitchyardError {
  readonly issues: readonly string[];
  constructor(issues: readonly string[], code: ErrorCode = 'data_invalid') {
    const shown = issues.slice(0, 20);
    const more = issues.length > shown.length ? `\n… and ${issues.length - shown.length} more` : '';
    super(code, `${issues.length} problem(s) in the data:\n${shown.join('\n')}${more}`);
    this.name = 'DataError';
    this.issues = issues;
  }
}

export function invalidArgument(message: string): SwitchyardError {
  return new SwitchyardError('invalid_argument', message);
}
