/**
 * The simulated vTPM (devstack/fleet/vtpm.ts). Every expected value here was computed outside
 * bootwarden (Python's hashlib: H(old || H(data)) from zeros), never by the code under test.
 */
import { Buffer } from 'node:buffer';
import { describe, expect, it } from 'vitest';
import { fingerprint, parseMeasurementList } from '../../core/measurements.js';
import { extend, eventLog, linuxChain, measurements, pcrValues, windowsChain } from '../../devstack/fleet/vtpm.js';

describe('extend', () => {
  it.each([
    [
      'SHA256',
      32,
      '589f9ffed4c477966bfb8d41f37895b08c69047df8f911d6f3b57fbe08faee8d',
      'a66d1ff613fd971c99f59444a517a434f48332e3536fb677d16a2aaf1a377829',
    ],
    ['SHA1', 20, 'ccd5bd41458de644ac34a2478b58ff819bef5acf', 'dec5421a3628e31bf40ad9dd7da81b3a87b10327'],
  ] as const)('%s: H(zeros || H("abc")), then H(that || H("bootwarden"))', (bank, size, first, second) => {
    const a = extend(bank, Buffer.alloc(size), 'abc');
    expect(a.toString('hex')).toBe(first);
    expect(extend(bank, a, 'bootwarden').toString('hex')).toBe(second);
  });

  it('refuses a PCR of the wrong size for its bank', () => {
    expect(() => extend('SHA256', Buffer.alloc(20), 'x')).toThrow('a SHA256 PCR is 32 bytes, not 20');
  });
});

describe('a Linux boot', () => {
  const chain = linuxChain({ kernel: 'linux-6.1.0-26-amd64' });

  it.each([
    ['SHA256', 0, 'eWZVuEawyDacBjE3ePNeeKFIbXR9+BiGIqr13rhDtNA='],
    ['SHA256', 4, 'Q24ITAoAgZUTy7+vE8khykVfQNFMfbWwah26LrIfGa4='],
    ['SHA256', 7, '+ZYFE2lbBQTUHJUqoSmzCfrluVEpIvIA/zj7f57AMQI='],
    ['SHA1', 0, 'FJyoLjfmGqRToZkNJXNoAM7hYlc='],
    ['SHA1', 4, '4lEfXqDgifXQq+ZG35PG9AIgNaU='],
    ['SHA1', 7, '7er3kU3bJ4S1vr8cYyAfKdw8Un4='],
  ] as const)('%s PCR_%i is the known answer', (bank, pcr, expected) => {
    expect(pcrValues(chain, bank).get(pcr)?.toString('base64')).toBe(expected);
  });

  it('a new kernel changes PCR_4 and nothing else', () => {
    const before = measurements(chain, 'late');
    const after = measurements(linuxChain({ kernel: 'linux-6.1.0-27-amd64' }), 'late');
    expect(after.find((m) => m.pcrNum === 'PCR_4')?.value).toBe('T6vuMGOWrQBFxDYsRL3J3vdipNw6sRb3BnT2GClJJK0=');
    expect(after.filter((m, i) => m.value !== before[i]?.value).map((m) => m.pcrNum)).toEqual(['PCR_4']);
  });

  it('a Secure Boot db update changes PCR_7 only; another boot loader PCR_4 only', () => {
    const changed = (other: Parameters<typeof linuxChain>[0]) => {
      const a = measurements(chain, 'late');
      return measurements(linuxChain(other), 'late')
        .filter((m, i) => m.value !== a[i]?.value)
        .map((m) => m.pcrNum);
    };
    expect(changed({ kernel: 'linux-6.1.0-26-amd64', db: ['microsoft-uefi-ca-2011', 'microsoft-uefi-ca-2023'] })).toEqual(['PCR_7']);
    expect(changed({ kernel: 'linux-6.1.0-26-amd64', bootloader: 'grub-2.12-evil' })).toEqual(['PCR_4']);
  });

  it('enrolling a MOK key adds PCR_14 to the late-boot report', () => {
    const mok = measurements(linuxChain({ kernel: 'linux-6.1.0-26-amd64', mokKeys: ['my-dkms-key'] }), 'late');
    expect(mok.map((m) => m.pcrNum)).toEqual(['PCR_0', 'PCR_4', 'PCR_7', 'PCR_14']);
    expect(mok[3]?.value).toBe('/OeqAlnAE1k8zfXybwt1+nN4z33JjjrbMRPXzakvVgE=');
  });

  it('the early-boot report lists the firmware PCR; the late one also the boot loader and Secure Boot', () => {
    expect(measurements(chain, 'early').map((m) => m.pcrNum)).toEqual(['PCR_0']);
    expect(measurements(chain, 'late', 'SHA1').map((m) => [m.pcrNum, m.hashAlgo])).toEqual([
      ['PCR_0', 'SHA1'],
      ['PCR_4', 'SHA1'],
      ['PCR_7', 'SHA1'],
    ]);
  });

  it('its reports are measurements the parser accepts, with a stable fingerprint', () => {
    const late = measurements(chain, 'late');
    const parsed = parseMeasurementList(late as never, 'actualMeasurements');
    expect(fingerprint(parsed)).toBe(fingerprint(measurements(linuxChain({ kernel: 'linux-6.1.0-26-amd64' }), 'late')));
    expect(
      eventLog(chain)
        .filter((e) => e.type === 'EV_SEPARATOR')
        .map((e) => e.pcr),
    ).toEqual([0, 7, 4]);
  });
});

describe('a Windows boot', () => {
  it('reports PCR_0, 4, 7, 11, 13 and 14; a new build changes PCR_4 only, a boot driver PCR_13 only', () => {
    const base = measurements(windowsChain({ build: '20348.2700' }), 'late');
    expect(base.map((m) => m.pcrNum)).toEqual(['PCR_0', 'PCR_4', 'PCR_7', 'PCR_11', 'PCR_13', 'PCR_14']);
    const diff = (other: Parameters<typeof windowsChain>[0]) =>
      measurements(windowsChain(other), 'late')
        .filter((m, i) => m.value !== base[i]?.value)
        .map((m) => m.pcrNum);
    expect(diff({ build: '20348.2849' })).toEqual(['PCR_4']);
    expect(diff({ build: '20348.2700', bootDrivers: ['disk.sys', 'volmgr.sys', 'rootkit.sys'] })).toEqual(['PCR_13']);
  });
});
