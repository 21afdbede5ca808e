// The bundles an appliance imported, newest first: what `goosed bundle list`, /v1/bundles and the status page show.
import { desc } from "drizzle-orm";
import { bundles, type Db } from "../db/index.ts";

export interface ImportedBundle {
  id: number;
  name: string;
  version: string;
  signerKeyId: string;
  manifestSha256: string;
  summary: { entries: number; bytes: number; newBlobs: number; newBytes: number };
  importedBy: string;
  importedAt: number;
}

export function listImportedBundles(db: Db): ImportedBundle[] {
  return db
    .select({
      id: bundles.id,
      name: bundles.name,
      version: bundles.version,
      signerKeyId: bundles.signerKeyId,
      manifestSha256: bundles.manifestSha256,
      summary: bundles.summary,
      importedBy: bundles.importedBy,
      importedAt: bundles.importedAt,
    })
    .from(bundles)
    .orderBy(desc(bundles.importedAt), desc(bundles.id))
    .all();
}
