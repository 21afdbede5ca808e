// A real goosed on a temporary data directory and the real CLI run against it as a subprocess.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { type RunningGoosed, runGoosed, startGoosed, type TempDir, tempDir } from "../support/goosed.ts";

export interface CliHarness extends AsyncDisposable {
  goosed: RunningGoosed;
  dir: TempDir;
  /** Runs `goosed <args> --api <url> --token <token>` to completion. */
  cli(...args: string[]): Promise<{ stdout: string; stderr: string; code: number }>;
  /** `cli(...args, "--json")`, expecting exit 0, parsed. */
  json<T>(...args: string[]): Promise<T>;
  /** Writes a file beside the data directory and returns its path. */
  file(name: string, text: string): string;
}

export async function startCli(): Promise<CliHarness> {
  const dir = tempDir();
  const dataDir = join(dir.path, "data");
  const goosed = await startGoosed({ dataDir });
  const cli = (...args: string[]) => runGoosed([...args, "--api", goosed.url, "--token", goosed.token]);
  return {
    goosed,
    dir,
    cli,
    async json<T>(...args: string[]): Promise<T> {
      const result = await cli(...args, "--json");
      if (result.code !== 0) throw new Error(`goosed ${args.join(" ")} exited ${result.code}: ${result.stderr}`);
      return JSON.parse(result.stdout) as T;
    },
    file(name: string, text: string): string {
      const path = join(dir.path, name);
      writeFileSync(path, text);
      return path;
    },
    async [Symbol.asyncDispose]() {
      await goosed.stop();
      await dir[Symbol.asyncDispose]();
    },
  };
}

/** stderr as lines, without the trailing newline's empty one. */
export const lines = (text: string): string[] => text.split("\n").filter((line, i, all) => line !== "" || i < all.length - 1);
