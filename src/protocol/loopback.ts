/**
 * Whether `HOST:PORT` names this machine's loopback: an IPv4 address in 127.0.0.0/8 or
 * [::1]. A name is resolved by nobody here, so `localhost` counts only when `names` allows
 * it (for an address to listen on, where the system resolves it locally).
 */
export function isLoopback(address: string, names = false): boolean {
  const host = address.slice(0, address.lastIndexOf(':'));
  return (
    /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(host) ||
    host === '[::1]' ||
    host === '::1' ||
    (names && host === 'localhost')
  );
}
