// The kind of artifact a file's name suggests, for `goosed artifact add` and bundle builds that are not told one.
import type { ArtifactKind } from "../db/index.ts";

export function artifactKindOf(path: string): ArtifactKind {
  const name = path.toLowerCase().split("/").at(-1)!;
  if (/^(vmlinuz|linux|bzimage|kernel)|\.(vmlinuz|kernel)$/.test(name)) return "kernel";
  if (/^(initrd|initramfs)|\.(initrd|cpio(\.\w+)?)$/.test(name)) return "initrd";
  if (name.endsWith(".iso")) return "iso";
  if (name.endsWith(".squashfs") || name.endsWith(".sqfs")) return "squashfs";
  if (name.endsWith(".wim")) return "wim";
  if (/\.(efi|kpxe|pxe|lkrn|0)$/.test(name)) return "loader";
  return "other";
}
