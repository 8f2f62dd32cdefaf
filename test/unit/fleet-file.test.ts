/** Fleet files (`--fleet <file.json>`, devstack/fleet/fleet-file.ts): what they load and what they refuse, by name. */
import { describe, expect, it } from 'vitest';
import { FleetFileError, parseFleetFile } from '../../devstack/fleet/fleet-file.js';
import { linuxChain, measurements, windowsChain } from '../../devstack/fleet/vtpm.js';

const base = { project: 'acme-prod', zone: 'us-central1-a', name: 'web-1', id: '4356841712468193571' };
const parse = (instances: unknown[]) => parseFleetFile(JSON.stringify({ instances }), 'fleet.json');

describe('fleet files', () => {
  it('loads instances with their defaults, labels, boot counter and boot chains', () => {
    const [linux, windows, plain] = parse([
      {
        ...base,
        labels: { env: 'prod' },
        bootCounter: '12',
        boot: { os: 'linux', kernel: 'linux-6.1.0-26-amd64', mokKeys: ['nvidia-2025'] },
      },
      { ...base, name: 'win-1', id: '18446744073709551557', status: 'TERMINATED', boot: { os: 'windows', build: '20348.2700' } },
      { ...base, name: 'db-1', id: '4356841712468193572', lastStartTimestamp: '2026-11-01T01:59:40.872-08:00' },
    ]);
    expect(linux).toMatchObject({ ...base, status: 'RUNNING', labels: { env: 'prod' }, bootCounter: 12n });
    expect(measurements(linux!.chain!, 'late')).toEqual(
      measurements(linuxChain({ kernel: 'linux-6.1.0-26-amd64', mokKeys: ['nvidia-2025'] }), 'late'),
    );
    expect(windows).toMatchObject({ id: '18446744073709551557', status: 'TERMINATED' });
    expect(windows!.chain).toEqual(windowsChain({ build: '20348.2700' }));
    expect(plain).toEqual({
      ...base,
      name: 'db-1',
      id: '4356841712468193572',
      status: 'RUNNING',
      lastStartTimestamp: '2026-11-01T01:59:40.872-08:00',
    });
    expect(plain!.chain).toBeUndefined();
  });

  it.each([
    // The id unquoted in JSON reads as 4356841712468193500: the digits are gone before any check.
    [
      'an id as a JSON number',
      [{ ...base, id: Number('4356841712468193571') }],
      /instances\[0\]\.id: must be a string, got the number 4356841712468194000: write the id in quotes/,
    ],
    ['an id that is not decimal', [{ ...base, id: '43568417x' }], /instances\[0\]\.id: must be a decimal string of up to 20 digits/],
    ['a name with capitals', [{ ...base, name: 'Web-1' }], /instances\[0\]\.name: must be an instance name/],
    ['a zone that is a region', [{ ...base, zone: 'us-central1' }], /instances\[0\]\.zone: must be a zone/],
    ['an unknown status', [{ ...base, status: 'STOPPED' }], /instances\[0\]\.status: must be "RUNNING" or "TERMINATED", got "STOPPED"/],
    ['a misspelt field', [{ ...base, lables: {} }], /instances\[0\]\.lables: unknown field/],
    ['an upper-case label', [{ ...base, labels: { Env: 'prod' } }], /instances\[0\]\.labels: must be keys of lowercase/],
    ['a boot counter of a RUNNING VM at 0', [{ ...base, bootCounter: '0' }], /bootCounter: a RUNNING instance has booted at least once/],
    ['an unknown os', [{ ...base, boot: { os: 'bsd', kernel: 'k' } }], /instances\[0\]\.boot\.os: must be "linux" or "windows"/],
    ['a Linux boot without a kernel', [{ ...base, boot: { os: 'linux' } }], /instances\[0\]\.boot\.kernel: must be a kernel name/],
    ['a Windows field on Linux', [{ ...base, boot: { os: 'linux', kernel: 'k', build: '1' } }], /boot\.build: unknown field/],
    ['a bad start time', [{ ...base, lastStartTimestamp: 'yesterday' }], /lastStartTimestamp: must be an RFC 3339 time/],
    ['the same id twice', [base, { ...base, name: 'web-2' }], /instances\[1\]: id 4356841712468193571 is also instances\[0\]/],
    [
      'the same name twice in a zone',
      [base, { ...base, id: '1' }],
      /instances\[1\]: name acme-prod\/us-central1-a\/web-1 is also instances\[0\]/,
    ],
  ])('refuses %s, naming where', (_what, instances, message) => {
    expect(() => parse(instances)).toThrow(FleetFileError);
    expect(() => parse(instances)).toThrow(message);
  });

  it('refuses a file that is not JSON or has no instances list', () => {
    expect(() => parseFleetFile('{', 'f.json')).toThrow(/fleet file f\.json: not JSON/);
    expect(() => parseFleetFile('[]', 'f.json')).toThrow(/fleet file f\.json: top level: expected \{"instances": \[\.\.\.\]\}/);
    expect(() => parseFleetFile('{"instances": [], "x": 1}', 'f.json')).toThrow(/top level\.x: unknown field/);
  });
});
