import path from 'node:path';
import { BACKENDS } from '../net/ban-commands.js';
import { checkpointFile, previousCheckpointFile } from './persist.js';
import { REPORT_FILE, SENT_REPORT_FILE } from './report.js';
import { refuseIrregular } from './safe-file.js';

/**
 * Every file peruse keeps in `storage`, with what it holds. A FIFO, directory or device in their
 * place is refused before anything opens it (a FIFO would block the reader for ever).
 */
export function stateFiles(storage: string): { file: string; what: string }[] {
  return [
    { file: checkpointFile(storage), what: 'the checkpoint' },
    { file: previousCheckpointFile(storage), what: 'the previous checkpoint' },
    ...BACKENDS.flatMap((backend) => [
      { file: path.join(storage, backend.storeFile), what: `the ${backend.name} ban store` },
      { file: path.join(storage, backend.pyruseFile), what: `Pyruse's ${backend.name} ban file` },
    ]),
    { file: path.join(storage, REPORT_FILE), what: 'the daily report being collected' },
    { file: path.join(storage, SENT_REPORT_FILE), what: 'the last daily report sent' },
  ];
}

/** Throws FileRefusedError naming the first state file that is not a regular file. */
export function refuseIrregularStateFiles(storage: string): void {
  for (const { file, what } of stateFiles(storage)) refuseIrregular(file, what);
}
