// What main hands to post through GITHUB_STATE (core.saveState; the runner gives it back as STATE_<name>).
export const STATE = {
  requestId: 'request-id',
  expiresAt: 'expires-at',
  /** JSON list of the variable names main exported, for post to blank. */
  exported: 'exported',
} as const;
