/**
 * Turns the failures an operator meets on a first start (a port in use, a missing database, a
 * data directory that cannot be written) into one or two lines that name the setting or command
 * that fixes them. Anything else is left to the caller.
 */
export function explainError(err: unknown): string[] | null {
  if (!(err instanceof Error)) return null;
  const e = err as NodeJS.ErrnoException & { address?: string; port?: number; routine?: string };
  if (e.syscall === 'listen') {
    const where = `${e.address}:${e.port}`;
    if (e.code === 'EADDRINUSE')
      return [
        `port ${e.port} is already in use on ${e.address} by another program.`,
        `Set PORT to a free port (e.g. PORT=${(e.port ?? 8080) + 1}) or stop the other program.`,
      ];
    if (e.code === 'EACCES')
      return [`no permission to listen on ${where}.`, 'Set PORT to a port above 1023.'];
    if (e.code === 'EADDRNOTAVAIL')
      return [
        `HOST=${e.address} is not an address of this machine.`,
        'Set HOST to 127.0.0.1, 0.0.0.0 or an address of this machine.',
      ];
  }
  // PostgreSQL answers with SQLSTATE codes (pg puts them on `code`).
  if (e.code === '3D000') {
    const db = /database "([^"]+)"/.exec(e.message)?.[1] ?? '';
    return [
      `PostgreSQL database "${db}" does not exist.`,
      `Create it (createdb ${db}) or point DATABASE_URL at an existing database.`,
    ];
  }
  if (e.code === '28P01' || e.code === '28000')
    return [`PostgreSQL refused the login: ${e.message}.`, 'Fix the user or password in DATABASE_URL.'];
  if (e.syscall === 'connect' && (e.code === 'ECONNREFUSED' || e.code === 'ETIMEDOUT'))
    return [
      `nothing answers at ${e.address}:${e.port} (${e.code}).`,
      'Start PostgreSQL there, or fix the host and port in DATABASE_URL.',
    ];
  if (e.syscall === 'getaddrinfo')
    return [`host "${(e as { hostname?: string }).hostname}" is unknown.`, 'Fix the host in DATABASE_URL.'];
  if ((e.code === 'EACCES' || e.code === 'EROFS' || e.code === 'ENOENT') && e.path)
    return [
      `cannot write ${e.path} (${e.code}).`,
      'Set DATA_DIR to a directory this user can write, or fix its permissions.',
    ];
  if (e.code === 'SQLITE_CANTOPEN' || /^Cannot open database/.test(e.message))
    return [
      `cannot open the SQLite database: ${e.message}.`,
      'Set DATA_DIR (or DATABASE_URL=sqlite:/path/file.sqlite) to a writable place.',
    ];
  return null;
}
