/**
 * Which encoding a /files download is sent in. The SDK's `read(path, {gzip:true})` asks
 * with exactly `Accept-Encoding: gzip`; plain fetch (undici) adds `gzip, deflate` to every
 * request. gzip costs ~100 MB/s of envd CPU, so it is used only when gzip is the one coding the
 * client names; any broader list gets identity, which RFC 9110 (section 12.5.3) keeps acceptable unless
 * excluded. A client that excludes identity and does not take gzip gets 406, as in E2B's envd.
 */
export type DownloadEncoding = 'gzip' | 'identity' | 'unacceptable';

export function chooseDownloadEncoding(header: string | undefined): DownloadEncoding {
  if (!header?.trim()) return 'identity';
  const accepted = new Map<string, number>();
  for (const item of header.split(',')) {
    const [coding = '', ...params] = item.trim().toLowerCase().split(';');
    if (!coding) continue;
    const q = params.map((p) => p.trim()).find((p) => p.startsWith('q='));
    const weight = q === undefined ? 1 : Number(q.slice(2));
    accepted.set(coding.trim(), Number.isFinite(weight) ? weight : 0);
  }
  const wanted = [...accepted].filter(([, q]) => q > 0).map(([coding]) => coding);
  const gzipOk = wanted.includes('gzip') || wanted.includes('x-gzip') || wanted.includes('*');
  if (wanted.length > 0 && wanted.every((c) => c === 'gzip' || c === 'x-gzip')) return 'gzip';
  const identityWeight = accepted.get('identity') ?? (accepted.get('*') === 0 ? 0 : 1);
  if (identityWeight > 0) return 'identity';
  return gzipOk ? 'gzip' : 'unacceptable';
}
