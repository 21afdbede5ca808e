// Whether a directory lives in RAM: the appliance booted without a GOOSED-DATA partition keeps its state on tmpfs.
import { statfsSync } from "node:fs";

// statfs(2) f_type values (linux/magic.h).
const TMPFS_MAGIC = 0x01021994;
const RAMFS_MAGIC = 0x858458f6;

export function isInMemory(path: string): boolean {
  try {
    const type = statfsSync(path).type;
    return type === TMPFS_MAGIC || type === RAMFS_MAGIC;
  } catch {
    return false;
  }
}

export const IN_MEMORY_WARNING = "State is in memory: machines, runs, artifacts and imported bundles are lost at power-off. Add a partition labelled GOOSED-DATA (or set dataDir to a disk) to keep them.";
