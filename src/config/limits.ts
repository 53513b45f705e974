/**
 * Longest duration a module argument may give (banSeconds, keepSeconds, graceSeconds, skewSeconds):
 * 10 years. Longer ones are typos or "for ever", which is written by leaving banSeconds out; nft
 * refuses a timeout like 1e+308s and a ban's end would not be a date.
 */
export const MAX_DURATION_SECONDS = 10 * 365 * 86_400 + 3 * 86_400; // 10 years with their leap days: 315 619 200 s
