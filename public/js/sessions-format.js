// How a session is described to a person: device (from the user agent), sign-in methods, and
// relative times. Pure functions returning strings; callers put them in the page as text only.

const UA_MAX = 60;

/** Browser from a User-Agent, most specific first (Edge and others also claim Chrome and Safari). */
function browserOf(ua) {
  if (/\bEdg(?:e|A|iOS)?\//.test(ua)) return 'Edge';
  if (/\b(?:Firefox|FxiOS)\//.test(ua)) return 'Firefox';
  if (/\b(?:OPR|Opera)\//.test(ua)) return null; // not one we name: the raw string says more
  if (/\b(?:Chrome|Chromium|CriOS|HeadlessChrome)\//.test(ua)) return 'Chrome';
  if (/\bSafari\//.test(ua) && /\bVersion\//.test(ua)) return 'Safari';
  return null;
}

function systemOf(ua) {
  if (/\b(?:iPhone|iPad|iPod)\b/.test(ua)) return 'iOS';
  if (/\bAndroid\b/.test(ua)) return 'Android';
  if (/\bWindows\b/.test(ua)) return 'Windows';
  if (/\b(?:Macintosh|Mac OS X)\b/.test(ua)) return 'macOS';
  if (/\bCrOS\b/.test(ua)) return 'ChromeOS';
  if (/\bLinux\b/.test(ua)) return 'Linux';
  return null;
}

/** "Chrome on Linux", "Firefox", else the raw string (shortened), else "Unknown device". */
export function describeAgent(userAgent) {
  const ua = typeof userAgent === 'string' ? userAgent.trim() : '';
  if (!ua) return 'Unknown device';
  const browser = browserOf(ua);
  const system = systemOf(ua);
  if (browser) return system ? `${browser} on ${system}` : browser;
  return ua.length > UA_MAX ? `${ua.slice(0, UA_MAX - 1)}…` : ua;
}

const METHODS = {
  pwd: 'password',
  otp: 'authenticator code',
  webauthn: 'passkey',
  recovery: 'recovery code',
  sso: 'single sign-on',
};

/** ['pwd', 'otp'] → ['password', 'authenticator code']; an unknown code is shown as it is. */
export function describeMethods(methods) {
  if (!Array.isArray(methods)) return [];
  return methods.map((method) => METHODS[method] ?? String(method));
}

/** "just now", "3 min ago", "5 h ago", "2 days ago"; in the future "in 3 min", "in 11 h", "in 2 days". */
export function relative(iso, now = Date.now()) {
  const at = Date.parse(iso ?? '');
  if (!Number.isFinite(at)) return '—';
  const seconds = Math.round((at - now) / 1000);
  const past = seconds <= 0;
  const abs = Math.abs(seconds);
  if (abs < 45) return past ? 'just now' : 'in less than a minute';
  let amount;
  if (abs < 60 * 60) amount = `${Math.max(1, Math.round(abs / 60))} min`;
  else if (abs < 24 * 60 * 60) amount = `${Math.round(abs / 3600)} h`;
  else {
    const days = Math.round(abs / 86400);
    amount = `${days} day${days === 1 ? '' : 's'}`;
  }
  return past ? `${amount} ago` : `in ${amount}`;
}

/** The name a person (and a screen reader) gives a session: "Chrome on Linux, 203.0.113.9". */
export function sessionLabel(session) {
  const device = describeAgent(session.user_agent);
  return session.ip ? `${device}, ${session.ip}` : device;
}
