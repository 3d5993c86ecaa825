/** Replaces the password of every URL-like `scheme://user:password@host` in a text with `***`. */
export function maskSecrets(text: string): string {
  return text.replace(/([a-z][a-z0-9+.-]*:\/\/[^:/?#@\s]*:)([^@\s]*)@/gi, '$1***@');
}

/** A URL as it may be shown to an operator: password masked, never thrown on. */
export function maskUrl(url: string): string {
  return maskSecrets(url);
}
