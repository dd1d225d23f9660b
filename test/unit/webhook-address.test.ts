/** Where a webhook may go: address classification and the URL rules applied when a target is configured. */
import { describe, expect, it } from 'vitest';
import { addressProblem, classifyAddress, ipv6Groups, webhookUrlProblem, webhookUrlWarning } from '../../runtime/webhook-address';

const strict = { allowPrivateNetworks: false };
const open = { allowPrivateNetworks: true };

describe('classifyAddress', () => {
  it.each([
    ['127.0.0.1', 'loopback'],
    ['127.255.255.254', 'loopback'],
    ['::1', 'loopback'],
    ['[::1]', 'loopback'],
    ['10.1.2.3', 'private'],
    ['172.16.0.1', 'private'],
    ['172.31.255.255', 'private'],
    ['192.168.1.10', 'private'],
    ['169.254.10.20', 'link-local'],
    ['fe80::1', 'link-local'],
    ['fe80::1%eth0', 'link-local'],
    ['febf::1', 'link-local'],
    ['fc00::1', 'unique-local'],
    ['fd12:3456::1', 'unique-local'],
    ['100.64.0.1', 'shared'],
    ['100.127.255.255', 'shared'],
    ['0.0.0.0', 'unspecified'],
    ['0.1.2.3', 'unspecified'],
    ['::', 'unspecified'],
    ['224.0.0.1', 'multicast'],
    ['ff02::1', 'multicast'],
    ['240.0.0.1', 'reserved'],
    ['255.255.255.255', 'reserved'],
    ['192.0.2.5', 'documentation'],
    ['2001:db8::1', 'documentation'],
    ['169.254.169.254', 'metadata'],
    ['fd00:ec2::254', 'metadata'],
    // IPv6 forms that connect to an IPv4 host are judged as that host.
    ['::ffff:127.0.0.1', 'loopback'],
    ['::ffff:7f00:1', 'loopback'],
    ['0:0:0:0:0:ffff:10.0.0.1', 'private'],
    ['::ffff:169.254.169.254', 'metadata'],
    ['::ffff:a9fe:a9fe', 'metadata'],
    ['::127.0.0.1', 'loopback'],
    ['64:ff9b::192.168.0.1', 'private'],
    ['2002:7f00:1::', 'loopback'],
    ['::ffff:8.8.8.8', 'public'],
    ['8.8.8.8', 'public'],
    ['1.1.1.1', 'public'],
    ['172.32.0.1', 'public'],
    ['100.128.0.1', 'public'],
    ['2606:4700:4700::1111', 'public'],
    ['2a00:1450:4001:82a::200e', 'public'],
  ])('%s is %s', (address, expected) => {
    expect(classifyAddress(address)).toBe(expected);
  });

  it('a name is not an address', () => {
    for (const name of ['localhost', 'example.com', '127.0.0.1.nip.io', '', '1.2.3', '::g']) expect(classifyAddress(name), name).toBeNull();
  });

  it('expands IPv6 text, including an embedded dotted quad', () => {
    expect(ipv6Groups('::1')).toEqual([0, 0, 0, 0, 0, 0, 0, 1]);
    expect(ipv6Groups('1::')).toEqual([1, 0, 0, 0, 0, 0, 0, 0]);
    expect(ipv6Groups('::ffff:1.2.3.4')).toEqual([0, 0, 0, 0, 0, 0xffff, 0x0102, 0x0304]);
    expect(ipv6Groups('1:2:3:4:5:6:7:8')).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(ipv6Groups('1::2::3')).toBeNull();
    expect(ipv6Groups('1:2:3')).toBeNull();
  });
});

describe('addressProblem', () => {
  it('refuses internal addresses with the reason; public ones pass', () => {
    expect(addressProblem('8.8.8.8', strict)).toBeNull();
    expect(addressProblem('127.0.0.1', strict)).toBe('127.0.0.1 is a loopback address (allowed only with WEBHOOK_ALLOW_PRIVATE_NETWORKS=true)');
    expect(addressProblem('10.0.0.5', strict)).toBe('10.0.0.5 is a private address (RFC 1918) (allowed only with WEBHOOK_ALLOW_PRIVATE_NETWORKS=true)');
    expect(addressProblem('169.254.169.254', strict)).toBe("169.254.169.254 is the cloud metadata service's address");
  });

  it('WEBHOOK_ALLOW_PRIVATE_NETWORKS allows private networks, never the metadata service, multicast or reserved ranges', () => {
    for (const address of ['127.0.0.1', '::1', '10.0.0.5', '192.168.1.1', '169.254.1.1', 'fd00::1', '100.64.1.1', '::ffff:127.0.0.1']) {
      expect(addressProblem(address, open), address).toBeNull();
      expect(addressProblem(address, strict), address).not.toBeNull();
    }
    for (const address of ['169.254.169.254', '::ffff:169.254.169.254', 'fd00:ec2::254', '0.0.0.0', '224.0.0.1', '240.0.0.1']) {
      expect(addressProblem(address, open), address).not.toBeNull();
    }
  });
});

describe('webhookUrlProblem (a new target)', () => {
  it('accepts a public https URL and any host name (names are checked at delivery)', () => {
    for (const url of ['https://shop.example.com/hooks', 'https://8.8.8.8/x', 'https://[2606:4700:4700::1111]:8443/x', 'https://localhost/x']) {
      expect(webhookUrlProblem(url, strict), url).toBeNull();
    }
  });

  it('refuses plain http unless private networks are allowed', () => {
    expect(webhookUrlProblem('http://shop.example.com/hooks', strict)).toBe('must use https (plain http is allowed only with WEBHOOK_ALLOW_PRIVATE_NETWORKS=true)');
    expect(webhookUrlProblem('http://shop.example.com/hooks', open)).toBeNull();
  });

  it('refuses internal literal addresses, in every spelling', () => {
    for (const url of ['https://127.0.0.1/x', 'https://[::1]/x', 'https://[::ffff:127.0.0.1]/x', 'https://10.0.0.1/x', 'https://0x7f000001/x', 'https://2130706433/x', 'https://0177.0.0.1/x', 'https://127.1/x']) {
      expect(webhookUrlProblem(url, strict), url).toMatch(/is a loopback address|is a private address/);
    }
    expect(webhookUrlProblem('https://169.254.169.254/latest/meta-data', open)).toBe("169.254.169.254 is the cloud metadata service's address");
    expect(webhookUrlProblem('https://metadata.google.internal./x', open)).toBe('metadata.google.internal is a cloud metadata service');
  });

  it('refuses what is not an http(s) URL, or carries credentials', () => {
    expect(webhookUrlProblem('ftp://shop.example.com', open)).toBe('must be an http(s) URL');
    expect(webhookUrlProblem('not a url', open)).toBe('is not a URL');
    expect(webhookUrlProblem('https://user:pw@shop.example.com/x', open)).toBe('must not include a user name or password');
  });

  it('warns about a stored plain-http target only', () => {
    expect(webhookUrlWarning('http://shop.example.com/x')).toMatch(/^plain http/);
    expect(webhookUrlWarning('https://shop.example.com/x')).toBeNull();
    expect(webhookUrlWarning(null)).toBeNull();
  });
});
