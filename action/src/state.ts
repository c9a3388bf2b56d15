// What main hands to post through GITHUB_STATE (core.saveState; the runner gives it back as STATE_<name>).
export const STATE = {
  requestId: 'request-id',
  expiresAt: 'expires-at',
  /** JSON list of the variable names main exported, for post to blank. */
  exported: 'exported',
  /** "false" when the exchange returned nothing revocable: post then makes no revoke call. */
  revocable: 'revocable',
} as const;
