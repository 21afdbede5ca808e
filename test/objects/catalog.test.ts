// The catalog's rules that no S3 client reaches: artifacts that profiles boot cannot be removed from under them.
import { expect, test } from "bun:test";
import { AppError } from "../../src/lib/errors.ts";
import { ObjectCatalog } from "../../src/objects/index.ts";
import { openTestCore } from "../support/core.ts";

const ADMIN = { id: "test" };
const DIGEST = "a".repeat(64);

test("an artifact a profile boots (kernel, initrd or named artifact) cannot be removed until the profile moves off it", async () => {
  await using t = openTestCore();
  const catalog = new ObjectCatalog(t.core.store, t.core.bus);
  for (const name of ["deb/linux", "deb/initrd.gz", "deb/live.squashfs", "spare"]) {
    catalog.putArtifact({ name, kind: "other", digest: DIGEST, sizeBytes: 1, contentType: "application/octet-stream", source: "test" }, ADMIN);
  }
  t.core.profiles.create({ name: "deb12", osFamily: "debian", kernel: "deb/linux", initrd: ["deb/initrd.gz"], artifacts: { live: "deb/live.squashfs" } }, ADMIN);
  for (const name of ["deb/linux", "deb/initrd.gz", "deb/live.squashfs"]) {
    const refused = (() => {
      try {
        catalog.removeArtifact(name, ADMIN);
        return null;
      } catch (error) {
        return error as AppError;
      }
    })();
    expect(refused).toBeInstanceOf(AppError);
    expect({ code: refused!.code, status: refused!.status }).toEqual({ code: "artifact-in-use", status: 409 });
    expect(refused!.detail).toContain("deb12");
    expect(catalog.getArtifact(name)).not.toBeNull();
  }
  catalog.removeArtifact("spare", ADMIN);
  expect(catalog.getArtifact("spare")).toBeNull();
  t.core.profiles.update("deb12", { kernel: "spare-kernel" }, ADMIN);
  catalog.removeArtifact("deb/linux", ADMIN);
  expect(catalog.getArtifact("deb/linux")).toBeNull();
});
