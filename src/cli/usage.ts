// Errors the CLI turns into exit codes: usage mistakes exit 2, everything else 1.

export class UsageError extends Error {
  constructor(
    message: string,
    readonly command: string,
  ) {
    super(message);
    this.name = "UsageError";
  }
}

/** A failure with advice: the one stderr line says what went wrong and what to do next. */
export class CliError extends Error {
  /** The problem's per-field errors, when the appliance sent any (an import names each bad row there). */
  readonly fields: ReadonlyArray<{ path: string; message: string }>;

  constructor(message: string, options?: { cause?: unknown; fields?: ReadonlyArray<{ path: string; message: string }> }) {
    super(message, options);
    this.name = "CliError";
    this.fields = options?.fields ?? [];
  }
}
