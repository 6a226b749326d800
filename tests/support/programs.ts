/**
 * Finding a program of this machine for the tests that drive one (Chromium,
 * PgBouncer): the first of the paths given that is a file.
 */

/** The first of `paths` that names a file; undefined when none does. */
export function firstFile(paths: readonly (string | undefined)[]): string | undefined {
  return paths.find((path) => {
    if (!path) return false;
    try {
      return Deno.statSync(path).isFile;
    } catch {
      return false;
    }
  });
}
