// A free TCP port on loopback for a server a benchmark starts: bound once by the kernel's choice, then released.
export function freePort(): number {
  const server = Bun.serve({ port: 0, hostname: "127.0.0.1", fetch: () => new Response() });
  const port = server.port!;
  server.stop(true);
  return port;
}
