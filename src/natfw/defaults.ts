/** Where natfw archives its allocations (its own module: naming it must not load the archive code). */
export const DEFAULT_ARCHIVE_DIR = '/var/lib/peruse/natfw';
