/**
 * The form in which usernames are compared: Unicode NFC, then full case folding, the same at
 * creation and at sign-in. JavaScript has no case-folding primitive; upper- then lower-casing
 * (locale-independent) folds what full folding folds ("ß" and "SS" → "ss", "İ" → "i̇", "ﬁ" → "fi"),
 * and every name is keyed through this one function, so a user always finds their own name again.
 * PostgreSQL's lower() is not used: it disagrees with JavaScript (lower('İ') is 'i' there).
 */
export function usernameKey(username: string): string {
  return username.normalize('NFC').toUpperCase().toLowerCase().normalize('NFC');
}
