/**
 * Where a webhook may go: the classification of IP addresses and host names that keeps merchants'
 * webhook targets from reaching into the operator's own network (loopback, private ranges, the cloud
 * metadata service...). Pure: no DNS, no sockets. Used when a target is configured (a literal address
 * is refused at once) and at every delivery (each address a name resolves to is checked, then the
 * connection is pinned to it: runtime/webhook-post.ts).
 */
import { BlockList, isIP } from 'node:net';

/** What an address is, as far as webhooks care. */
export type AddressClass =
  | 'public'
  | 'loopback'
  | 'private'
  | 'link-local'
  | 'unique-local'
  | 'shared'
  | 'unspecified'
  | 'multicast'
  | 'reserved'
  | 'documentation'
  | 'metadata';

const CLASS_TEXT: Record<Exclude<AddressClass, 'public'>, string> = {
  loopback: 'a loopback address',
  private: 'a private address (RFC 1918)',
  'link-local': 'a link-local address',
  'unique-local': 'a unique-local address (fc00::/7)',
  shared: 'a carrier-grade NAT address (100.64.0.0/10)',
  unspecified: 'an unspecified or "this network" address',
  multicast: 'a multicast address',
  reserved: 'a reserved address',
  documentation: 'a documentation or benchmarking address',
  metadata: "the cloud metadata service's address",
};

/** What WEBHOOK_ALLOW_PRIVATE_NETWORKS opens: networks a receiver can really live on (make dev, tests, an intranet). */
const PRIVATE_CLASSES: ReadonlySet<AddressClass> = new Set(['loopback', 'private', 'link-local', 'unique-local', 'shared']);

/** Checked in this order: the first list that holds an address names its class (metadata before link-local). */
const RANGES: [Exclude<AddressClass, 'public'>, [string, number, 'ipv4' | 'ipv6'][]][] = [
  ['metadata', [['169.254.169.254', 32, 'ipv4'], ['fd00:ec2::254', 128, 'ipv6']]],
  ['unspecified', [['0.0.0.0', 8, 'ipv4'], ['::', 128, 'ipv6']]],
  ['loopback', [['127.0.0.0', 8, 'ipv4'], ['::1', 128, 'ipv6']]],
  ['private', [['10.0.0.0', 8, 'ipv4'], ['172.16.0.0', 12, 'ipv4'], ['192.168.0.0', 16, 'ipv4'], ['fec0::', 10, 'ipv6']]],
  ['shared', [['100.64.0.0', 10, 'ipv4']]],
  ['link-local', [['169.254.0.0', 16, 'ipv4'], ['fe80::', 10, 'ipv6']]],
  ['unique-local', [['fc00::', 7, 'ipv6']]],
  ['multicast', [['224.0.0.0', 4, 'ipv4'], ['ff00::', 8, 'ipv6']]],
  [
    'documentation',
    [['192.0.2.0', 24, 'ipv4'], ['198.51.100.0', 24, 'ipv4'], ['203.0.113.0', 24, 'ipv4'], ['198.18.0.0', 15, 'ipv4'], ['2001:db8::', 32, 'ipv6']],
  ],
  // 240/4 includes the broadcast address; 100::/64 is IPv6's discard prefix.
  ['reserved', [['192.0.0.0', 24, 'ipv4'], ['240.0.0.0', 4, 'ipv4'], ['100::', 64, 'ipv6']]],
];

const BLOCK_LISTS = RANGES.map(([cls, ranges]) => {
  const list = new BlockList();
  for (const [network, prefix, type] of ranges) list.addSubnet(network, prefix, type);
  return [cls, list] as const;
});

/** Host names of cloud metadata services, which answer with credentials; refused whatever they resolve to. */
const METADATA_HOSTNAMES = new Set(['metadata', 'metadata.google.internal', 'metadata.goog', 'instance-data', 'instance-data.ec2.internal']);

/** The eight 16-bit groups of an IPv6 address (zone dropped, embedded dotted quad converted), or null. */
export function ipv6Groups(address: string): number[] | null {
  let text = address.replace(/%.*$/, '');
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted) {
    if (isIP(dotted[1]!) !== 4) return null;
    const [a, b, c, d] = dotted[1]!.split('.').map(Number) as [number, number, number, number];
    text = `${text.slice(0, -dotted[1]!.length)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const halves = text.split('::');
  if (halves.length > 2) return null;
  const parse = (part: string) => (part === '' ? [] : part.split(':').map((g) => (/^[0-9a-f]{1,4}$/i.test(g) ? parseInt(g, 16) : NaN)));
  const head = parse(halves[0]!);
  const tail = halves.length === 2 ? parse(halves[1]!) : [];
  const missing = 8 - head.length - tail.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) return null;
  const groups = [...head, ...Array<number>(halves.length === 2 ? missing : 0).fill(0), ...tail];
  return groups.some(Number.isNaN) ? null : groups;
}

const ipv4FromGroups = (high: number, low: number) => `${high >> 8}.${high & 255}.${low >> 8}.${low & 255}`;

/**
 * The IPv4 address an IPv6 address stands for, when it is one of the forms that reach IPv4 hosts
 * (mapped ::ffff:a.b.c.d, the old compatible ::a.b.c.d, NAT64 64:ff9b::/96, 6to4 2002::/16): an
 * address like ::ffff:127.0.0.1 must be judged as 127.0.0.1, since that is where it connects.
 */
export function embeddedIpv4(groups: number[]): string | null {
  const zeros = (from: number, to: number) => groups.slice(from, to).every((g) => g === 0);
  if (zeros(0, 5) && groups[5] === 0xffff) return ipv4FromGroups(groups[6]!, groups[7]!);
  if (zeros(0, 6) && (groups[6] !== 0 || groups[7]! > 1)) return ipv4FromGroups(groups[6]!, groups[7]!);
  if (groups[0] === 0x64 && groups[1] === 0xff9b && zeros(2, 6)) return ipv4FromGroups(groups[6]!, groups[7]!);
  if (groups[0] === 0x2002) return ipv4FromGroups(groups[1]!, groups[2]!);
  return null;
}

/** The class of a literal IP address (IPv6 with or without brackets); null when it is not one. */
export function classifyAddress(address: string): AddressClass | null {
  const bare = address.replace(/^\[(.*)\]$/, '$1');
  const version = isIP(bare.replace(/%.*$/, ''));
  if (version === 0) return null;
  if (version === 4) return classifyIn(bare, 'ipv4');
  const groups = ipv6Groups(bare);
  if (!groups) return null;
  const ipv4 = embeddedIpv4(groups);
  if (ipv4 !== null) return classifyIn(ipv4, 'ipv4');
  return classifyIn(groups.map((g) => g.toString(16)).join(':'), 'ipv6');
}

function classifyIn(address: string, type: 'ipv4' | 'ipv6'): AddressClass {
  for (const [cls, list] of BLOCK_LISTS) if (list.check(address, type)) return cls;
  return 'public';
}

export interface NetworkPolicy {
  /** WEBHOOK_ALLOW_PRIVATE_NETWORKS: loopback, private, link-local, unique-local and CGNAT addresses allowed. */
  allowPrivateNetworks: boolean;
}

/** What is wrong with a literal address as a webhook's destination ("a loopback address (...)"), or null when nothing is. */
export function refusedAddressReason(address: string, policy: NetworkPolicy): string | null {
  const cls = classifyAddress(address);
  if (cls === null) return 'not an IP address';
  if (cls === 'public' || (policy.allowPrivateNetworks && PRIVATE_CLASSES.has(cls))) return null;
  const hint = PRIVATE_CLASSES.has(cls) ? ' (allowed only with WEBHOOK_ALLOW_PRIVATE_NETWORKS=true)' : '';
  return `${CLASS_TEXT[cls]}${hint}`;
}

/** Why a webhook may not go to this literal address ("127.0.0.1 is a loopback address ..."), or null when it may. */
export function addressProblem(address: string, policy: NetworkPolicy): string | null {
  const reason = refusedAddressReason(address, policy);
  return reason === null ? null : `${address} is ${reason}`;
}

/** A host name normalised for comparison: lower case, no trailing dot, no IPv6 brackets. */
const normalHost = (hostname: string) => hostname.toLowerCase().replace(/\.$/, '').replace(/^\[(.*)\]$/, '$1');

/** A host that names a metadata service, which no setting allows. */
export const isMetadataHostname = (hostname: string) => METADATA_HOSTNAMES.has(normalHost(hostname));

/**
 * Why a webhook URL may not be configured as a new target, or null when it may: not http(s), plain
 * http without WEBHOOK_ALLOW_PRIVATE_NETWORKS, credentials in the URL, a refused literal address or a
 * metadata host name. A host name is only judged at delivery, where it is resolved: DNS can change.
 */
export function webhookUrlProblem(raw: string, policy: NetworkPolicy): string | null {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return 'is not a URL';
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return 'must be an http(s) URL';
  if (url.protocol === 'http:' && !policy.allowPrivateNetworks) return 'must use https (plain http is allowed only with WEBHOOK_ALLOW_PRIVATE_NETWORKS=true)';
  if (url.username || url.password) return 'must not include a user name or password';
  return hostProblem(normalHost(url.hostname), policy);
}

/**
 * Why a host is refused before anything is resolved, or null: a metadata service's name, or a literal
 * address of a refused kind. Asked when a target is set and again at each delivery.
 */
export function hostProblem(host: string, policy: NetworkPolicy): string | null {
  if (isMetadataHostname(host)) return `${host} is a cloud metadata service`;
  return classifyAddress(host) !== null ? addressProblem(host, policy) : null;
}

/** The warning for a stored target: only a push target has a webhook to warn about. */
export function pushTargetWarning(target: { mode: string; webhookUrl: string | null }): string | null {
  return target.mode === 'push' ? webhookUrlWarning(target.webhookUrl) : null;
}

/** What the ops views say about a stored target that would not be accepted as new: plain http. */
export function webhookUrlWarning(raw: string | null): string | null {
  if (raw === null || !/^http:/i.test(raw)) return null;
  return 'plain http: deliveries travel unencrypted; change the target to https (new http targets are refused unless WEBHOOK_ALLOW_PRIVATE_NETWORKS=true)';
}
